// The cost of a property get and set through the JVM binding (smallpeer.jar: the Kotlin API over
// the SWIG JNI layer), for bench/binding_call_bench.py, which compares it with the same C call
// (bench/capi_call_bench.cpp). KotlinCallBench makes the calls from Kotlin, JavaCallBench
// (JavaCallBench.java) from Java; both print one line per call: the C benchmark's name, nanoseconds
// per call (best of the repeats, after a JIT warm-up) and the call as that language spells it.
//
//   java -cp <build>/bench/jvm/classes:<build>/kotlin/smallpeer.jar:kotlin-stdlib.jar:gson.jar \
//        io.smallpeer.bench.KotlinCallBench [calls-per-repeat] [repeats]
package io.smallpeer.bench

import io.smallpeer.Ditto
import io.smallpeer.DittoIdentity
import io.smallpeer.DittoLogLevel
import io.smallpeer.DittoLogger
import java.io.File
import java.nio.file.Files

/** A timed loop: makes [calls] calls and returns something derived from their results. */
interface CallLoop {
    /** Makes the call [calls] times. */
    @Throws(Exception::class)
    fun run(calls: Int): Long
}

/** What runs with the open small peer. */
interface DittoBody {
    /** Uses [ditto], which is closed afterwards. */
    @Throws(Exception::class)
    fun run(ditto: Ditto)
}

/** The timing harness both JVM benches share: warm-up, repeats, the printed lines. */
class CallBench(args: Array<String>, language: String) {
    private val calls = countArg(args, 0, 2_000_000, "calls-per-repeat")
    private val repeats = countArg(args, 1, 7, "repeats")
    private var sink = 0L

    init {
        println("${language.toLowerCase()}_call_bench: Java ${System.getProperty("java.version")}, " +
            "best of $repeats x $calls calls after ${WARMUP_REPEATS} warm-up repeats")
    }

    /** Times [loop] and prints `name ns spelling`. */
    @Throws(Exception::class)
    fun measure(name: String, spelling: String, loop: CallLoop) {
        repeat(WARMUP_REPEATS) { sink += loop.run(calls) } // the JIT compiles the loop and the binding
        var best = Double.MAX_VALUE
        repeat(repeats) {
            val start = System.nanoTime()
            sink += loop.run(calls)
            best = minOf(best, (System.nanoTime() - start).toDouble() / calls)
        }
        println("$name ${"%.1f".format(best)} $spelling")
    }

    /** Keeps the loops' results alive. */
    fun done() {
        if (sink == Long.MIN_VALUE) println()
    }

    companion object {
        private const val WARMUP_REPEATS = 3

        /** Opens a small peer in a fresh temporary directory, runs [body], then closes and removes it. */
        @JvmStatic
        @Throws(Exception::class)
        fun withDitto(body: DittoBody) {
            val dir = Files.createTempDirectory("smallpeer-bench-").toFile()
            try {
                Ditto(dir, DittoIdentity.OfflinePlayground(), "bench").use { body.run(it) }
            } finally {
                dir.deleteRecursively()
            }
        }

        private fun countArg(args: Array<String>, index: Int, fallback: Int, what: String): Int {
            val text = args.getOrNull(index) ?: return fallback
            val n = text.toIntOrNull()
            require(n != null && n >= 1) { "call bench: $what must be a whole number >= 1, got '$text'" }
            return n
        }
    }
}

/** The calls made from Kotlin. */
object KotlinCallBench {
    /** Runs the bench; arguments: [calls-per-repeat] [repeats]. */
    @JvmStatic
    fun main(args: Array<String>) {
        val bench = CallBench(args, "Kotlin")
        CallBench.withDitto(object : DittoBody {
            override fun run(ditto: Ditto) = measureAll(bench, ditto)
        })
        bench.done()
    }

    private fun measureAll(bench: CallBench, ditto: Ditto) {
        val spi = ditto.smallPeerInfo
        bench.measure("BM_SpiIsEnabledGet", "ditto.smallPeerInfo.isEnabled", object : CallLoop {
            override fun run(calls: Int): Long {
                var n = 0L
                for (i in 0 until calls) if (spi.isEnabled) n++
                return n
            }
        })
        bench.measure("BM_SpiIsEnabledSet", "ditto.smallPeerInfo.isEnabled = false", object : CallLoop {
            override fun run(calls: Int): Long {
                for (i in 0 until calls) spi.isEnabled = false
                return 0
            }
        })
        bench.measure("BM_LoggerMinimumLevelGet", "DittoLogger.minimumLogLevel", object : CallLoop {
            override fun run(calls: Int): Long {
                var n = 0L
                for (i in 0 until calls) n += DittoLogger.minimumLogLevel.ordinal
                return n
            }
        })
        bench.measure("BM_LoggerMinimumLevelSet", "DittoLogger.minimumLogLevel = DittoLogLevel.INFO", object : CallLoop {
            override fun run(calls: Int): Long {
                for (i in 0 until calls) DittoLogger.minimumLogLevel = DittoLogLevel.INFO
                return 0
            }
        })
    }
}
