package io.smallpeer.testing

import com.google.gson.JsonElement
import com.google.gson.JsonParser
import org.junit.jupiter.api.DynamicTest
import java.io.File
import java.nio.file.Files
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import java.util.function.Supplier
import java.util.zip.GZIPInputStream

/**
 * The language-neutral half of the behaviour-table runners (tests/conformance/README.md), shared by
 * the Kotlin and the Java runner: loading cases.json, generated arguments, `$var`, outcomes, the
 * table's file and Big Peer ops, the waiting ops and the report. It calls no SmallPeer API: every op
 * that does goes to the runner's [ConformanceOps], which is that language's mapping, its own calls.
 */
class ConformanceSuite(
    /** The language in the report line, `conformance <language>: ...`. */
    private val language: String,
    /** Makes the runner's op mapping for one case. */
    private val ops: Supplier<ConformanceOps>
) {
    /** The cases of tests/conformance/cases.json, in order. */
    val cases: List<Map<String, Any?>> = loadCases()

    private val failures = CopyOnWriteArrayList<String>()
    private var passed = 0

    /** One JUnit dynamic test per case; each also prints its own PASS/FAIL line. */
    fun dynamicTests(): List<DynamicTest> = cases.map { case ->
        val name = case["name"] as String
        DynamicTest.dynamicTest(name) {
            val failure = runCase(case)
            if (failure == null) {
                passed++
                println("[conformance $language] PASS $name")
            } else {
                failures.add("$name: $failure")
                println("[conformance $language] FAIL $name: $failure")
                throw AssertionError("case '$name' failed at $failure")
            }
        }
    }

    /** The one summary line: `conformance <language>: <N> cases, <P> passed, <F> failed`. */
    fun summary(): String = "conformance $language: ${cases.size} cases, $passed passed, ${cases.size - passed} failed"

    /** The failed cases so far, each with its step, op and what happened. */
    fun failures(): List<String> = failures.toList()

    /** Runs one case in a fresh directory; null when it passed, else "step I (op): what happened". */
    private fun runCase(case: Map<String, Any?>): String? {
        val dir = Files.createTempDirectory("smallpeer-conformance").toFile()
        val context = CaseContext(dir)
        val mapping = ops.get()
        val saved = HashMap<String, Any?>()
        var failure: String? = null
        try {
            mapping.begin(context)
            @Suppress("UNCHECKED_CAST")
            val steps = case["steps"] as List<Map<String, Any?>>
            for ((index, step) in steps.withIndex()) {
                val op = step["op"] as String
                val problem = try {
                    runStep(step, op, mapping, context, saved)
                } catch (e: Throwable) {
                    "the runner failed: ${describe(e)}"
                }
                if (problem != null) {
                    failure = "step $index ($op): $problem"
                    break
                }
            }
        } catch (e: Throwable) {
            failure = "setting the case up failed: ${describe(e)}"
        } finally {
            try {
                mapping.end()
            } catch (e: Throwable) {
                if (failure == null) failure = "closing the case failed: ${describe(e)}"
            }
            context.close()
            dir.deleteRecursively()
        }
        return failure
    }

    /** Runs one step and checks its outcome; null when it held. */
    private fun runStep(step: Map<String, Any?>, op: String, mapping: ConformanceOps, context: CaseContext,
                        saved: MutableMap<String, Any?>): String? {
        @Suppress("UNCHECKED_CAST")
        val args = resolve(step["args"] ?: emptyMap<String, Any?>(), saved) as Map<String, Any?>
        val outcome: Any?
        try {
            outcome = when (op) {
                "file.contains" -> readText(context.file(Args.string(args, "path"))).contains(Args.string(args, "text"))
                "file.gzipLines" -> gunzip(context.file(Args.string(args, "path"))).lines().count { it.isNotEmpty() }.toLong()
                "file.gzipContains" -> gunzip(context.file(Args.string(args, "path"))).contains(Args.string(args, "text"))
                "bigpeer.start" -> {
                    context.startBigPeer()
                    null
                }
                "bigpeer.awaitDevice" -> {
                    val key = mapping.run("ditto.peerKey", emptyMap()) as String
                    awaitTrue(Args.integer(args, "timeout_ms"), "the Big Peer to list device $key") {
                        context.bigPeer().get("/api/v1/collections/__small_peer_info/documents/$key") != null
                    }
                }
                "bigpeer.awaitLogUpload" -> {
                    // The Big Peer's log request calls its status field "state" (README "Logs").
                    val id = Args.string(args, "request_id")
                    awaitTrue(Args.integer(args, "timeout_ms"), "log request $id to be ready") {
                        context.bigPeer().get("/api/v1/log-requests/$id")?.get("state") == "ready"
                    }
                }
                "bigpeer.grantAdmin" -> {
                    val key = mapping.run("ditto.peerKey", emptyMap()) as String
                    val expires = java.time.Instant.now().plusSeconds(3600).truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                    context.bigPeer().post("/api/v1/admin-devices",
                        """{"peer_key":"$key","expires_at":"$expires","label":"conformance"}""")
                    null
                }
                "spi.awaitFleet" -> {
                    val key = mapping.run("ditto.peerKey", emptyMap()) as String
                    awaitTrue(Args.integer(args, "timeout_ms"), "this device in the fleet") {
                        (mapping.run("spi.fleet", emptyMap()) as List<*>).any { (it as Map<*, *>)["_id"] == key }
                    }
                }
                "spi.awaitNewDocument" -> awaitNewDocument(args, mapping)
                "store.awaitChange" -> {
                    val change = "${Args.string(args, "collection")}/${Args.string(args, "id")}/${Args.string(args, "kind")}"
                    awaitTrue(Args.integer(args, "timeout_ms"), "the change $change") { context.changes.contains(change) }
                }
                "logger.awaitCallbackMessage" -> {
                    val text = Args.string(args, "contains")
                    awaitTrue(Args.integer(args, "timeout_ms"), "a log callback message containing '$text'") {
                        context.logMessages.any { it.contains(text) }
                    }
                }
                "logger.callbackSaw" -> {
                    Thread.sleep(Args.integer(args, "wait_ms"))
                    val text = Args.string(args, "contains")
                    context.logMessages.any { it.contains(text) }
                }
                else -> mapping.run(op, args)
            }
        } catch (e: Throwable) {
            val expected = step["error"] as String? ?: return "failed unexpectedly: ${describe(e)}"
            val kind = if (e is ConformanceTimeout) "timeout" else mapping.errorKind(e)
            return when (kind) {
                expected -> null
                null -> "expected the Ditto error '$expected', got ${describe(e)}"
                else -> "expected the Ditto error '$expected', got '$kind': ${e.message}"
            }
        }
        if (step.containsKey("error")) return "expected the Ditto error '${step["error"]}', but it succeeded with ${show(outcome)}"
        checkOutcome(step, outcome, saved)?.let { return it }
        when (val name = step["save"]) {
            null -> {}
            is String -> saved[name] = outcome
            else -> return "a save that is not a name: ${show(name)}"
        }
        return null
    }

    /** Polls spi.document (through the runner's own call) until a document newer than `after` is there. */
    private fun awaitNewDocument(args: Map<String, Any?>, mapping: ConformanceOps): Any? {
        val after = args["after"] as Map<*, *>?
        val afterSequence = after?.let { (it["sequence"] as Number).toLong() }
        val timeout = Args.integer(args, "timeout_ms")
        val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeout)
        while (true) {
            val doc = mapping.run("spi.document", emptyMap()) as Map<*, *>?
            if (doc != null && (afterSequence == null || (doc["sequence"] as Number).toLong() > afterSequence)) return doc
            if (System.nanoTime() > deadline) {
                throw ConformanceTimeout("no document after sequence ${afterSequence ?: "none"} within $timeout ms (last: ${doc?.get("sequence")})")
            }
            Thread.sleep(20)
        }
    }

    /** Checks every outcome key present; null when all hold. */
    private fun checkOutcome(step: Map<String, Any?>, result: Any?, saved: Map<String, Any?>): String? {
        if (step.containsKey("expect")) {
            val expected = resolve(step["expect"], saved)
            if (!jsonEquals(expected, result)) return "expected ${show(expected)}, got ${show(result)}"
        }
        (step["expect_fields"] as Map<*, *>?)?.let { fields ->
            for ((path, types) in fields) {
                val value = at(result, path as String) ?: return "expected field '$path' (${types}), it is missing from ${show(result)}"
                val actual = jsonType(value.value)
                if ((types as String).split('|').none { it == actual || (it == "number" && actual == "integer") }) {
                    return "expected field '$path' to be $types, it is $actual: ${show(value.value)}"
                }
            }
        }
        if (step.containsKey("expect_subset")) {
            val expected = resolve(step["expect_subset"], saved)
            if (!subset(expected, result)) return "expected a superset of ${show(expected)}, got ${show(result)}"
        }
        step["expect_length"]?.let { n ->
            val length = when (result) {
                is String -> result.toByteArray(Charsets.UTF_8).size
                is List<*> -> result.size
                else -> return "expected a string or array of length $n, got ${show(result)}"
            }
            if (length.toLong() != (n as Number).toLong()) return "expected length $n, got $length"
        }
        (step["expect_match"] as String?)?.let { regex ->
            if (result !is String || !Regex(regex).containsMatchIn(result)) return "expected a string matching /$regex/, got ${show(result)}"
        }
        return null
    }

    /** Shared by both runners: the pure helpers of the table's value rules. */
    companion object {
        /** Where cases.json is: env SMALLPEER_CONFORMANCE_CASES (ctest sets it), else found from the working directory up. */
        @JvmStatic
        fun casesFile(): File {
            System.getenv("SMALLPEER_CONFORMANCE_CASES")?.let { return File(it) }
            var dir: File? = File("").absoluteFile
            while (dir != null) {
                val candidate = File(dir, "tests/conformance/cases.json")
                if (candidate.isFile) return candidate
                dir = dir.parentFile
            }
            throw IllegalStateException("set SMALLPEER_CONFORMANCE_CASES to tests/conformance/cases.json")
        }

        @Suppress("UNCHECKED_CAST")
        private fun loadCases(): List<Map<String, Any?>> {
            val table = plain(JsonParser.parseString(casesFile().readText())) as Map<String, Any?>
            return table["cases"] as List<Map<String, Any?>>
        }

        /** Gson's tree as plain values: LinkedHashMap, ArrayList, String, Long (integers), Double, Boolean, null. */
        @JvmStatic
        fun plain(e: JsonElement): Any? = when {
            e.isJsonNull -> null
            e.isJsonObject -> LinkedHashMap<String, Any?>().also { map -> e.asJsonObject.entrySet().forEach { (k, v) -> map[k] = plain(v) } }
            e.isJsonArray -> e.asJsonArray.mapTo(ArrayList()) { plain(it) }
            e.asJsonPrimitive.isBoolean -> e.asBoolean
            e.asJsonPrimitive.isNumber -> number(e.asString)
            else -> e.asString
        }

        private fun number(text: String): Number = if (text.any { it == '.' || it == 'e' || it == 'E' }) text.toDouble() else text.toLong()

        /** Replaces `{"$var": ...}` and `{"$gen": ...}` throughout a value. */
        @JvmStatic
        fun resolve(value: Any?, saved: Map<String, Any?>): Any? = when (value) {
            is Map<*, *> -> when {
                value.containsKey("\$var") -> {
                    val path = value["\$var"] as String
                    val name = path.substringBefore('.')
                    if (!saved.containsKey(name)) throw IllegalStateException("no saved value '$name'")
                    val found = (if ('.' in path) at(saved[name], path.substringAfter('.')) else Found(saved[name]))
                        ?: throw IllegalStateException("the saved value has no '$path'")
                    val plus = value["plus"] as Number?
                    if (plus == null) found.value else (found.value as Number).toLong() + plus.toLong()
                }
                value.containsKey("\$gen") -> generate(value)
                else -> value.entries.associateTo(LinkedHashMap()) { (k, v) -> k as String to resolve(v, saved) }
            }
            is List<*> -> value.map { resolve(it, saved) }
            else -> value
        }

        /** The table's generated arguments, built the same way in every language. */
        private fun generate(spec: Map<*, *>): String = when (val kind = spec["\$gen"]) {
            "object_of_bytes" -> {
                val n = (spec["bytes"] as Number).toInt()
                "{\"pad\":\"" + "x".repeat(n - 10) + "\"}"
            }
            "nested_object" -> {
                val depth = (spec["depth"] as Number).toInt()
                "{\"a\":".repeat(depth - 1) + "{}" + "}".repeat(depth - 1)
            }
            "string_of_bytes" -> "x".repeat((spec["bytes"] as Number).toInt())
            // A lone surrogate: a Java string that has no UTF-8 form.
            "not_utf8" -> "{\"k\":\"\ud800\"}"
            else -> throw IllegalStateException("unknown generator $kind")
        }

        /** A value found at a dotted path (the path "" is the value itself). */
        class Found(val value: Any?)

        /** The value at a dotted path, or null when a key is missing. */
        @JvmStatic
        fun at(value: Any?, path: String): Found? {
            if (path == "") return Found(value)
            var current: Any? = value
            for (key in path.split('.')) {
                val map = current as? Map<*, *> ?: return null
                if (!map.containsKey(key)) return null
                current = map[key]
            }
            return Found(current)
        }

        /** The JSON type name of a plain value. */
        @JvmStatic
        fun jsonType(value: Any?): String = when (value) {
            null -> "null"
            is Boolean -> "boolean"
            is String -> "string"
            is Long, is Int, is Short, is Byte -> "integer"
            is Number -> "number"
            is Map<*, *> -> "object"
            is List<*> -> "array"
            else -> "not JSON (${value.javaClass.name})"
        }

        /** Deep equality with numbers compared by value. */
        @JvmStatic
        fun jsonEquals(a: Any?, b: Any?): Boolean = when {
            a is Number && b is Number -> if (jsonType(a) == "integer" && jsonType(b) == "integer") a.toLong() == b.toLong() else a.toDouble() == b.toDouble()
            a is Map<*, *> && b is Map<*, *> -> a.size == b.size && a.all { (k, v) -> b.containsKey(k) && jsonEquals(v, b[k]) }
            a is List<*> && b is List<*> -> a.size == b.size && a.indices.all { jsonEquals(a[it], b[it]) }
            else -> a == b
        }

        /** Objects by subset (recursively), arrays and scalars by equality. */
        @JvmStatic
        fun subset(expected: Any?, actual: Any?): Boolean =
            if (expected is Map<*, *>) actual is Map<*, *> && expected.all { (k, v) -> actual.containsKey(k) && subset(v, actual[k]) }
            else jsonEquals(expected, actual)

        /** A value as JSON-ish text for messages, cut to a readable length. */
        @JvmStatic
        fun show(value: Any?): String {
            val text = when (value) {
                is String -> "\"$value\""
                else -> value.toString()
            }
            return if (text.length > 300) text.take(300) + "… (${text.length} chars)" else text
        }

        /** An exception as "Class: message". */
        @JvmStatic
        fun describe(e: Throwable): String = "${e.javaClass.name}: ${e.message}"

        private fun awaitTrue(timeoutMs: Long, what: String, condition: () -> Boolean): Any? {
            if (!BigPeer.eventually(timeoutMs, condition)) throw ConformanceTimeout("waited $timeoutMs ms for $what")
            return null
        }

        // A missing file fails the step: "does not contain" must not pass because nothing was written.
        private fun readText(file: File): String = file.readText()

        private fun gunzip(file: File): String = GZIPInputStream(file.inputStream()).use { it.readBytes().toString(Charsets.UTF_8) }
    }
}

/** What one language's runner maps: every op that calls the SmallPeer API, in that language's own calls. */
interface ConformanceOps {
    /** Before the first step: reset the process-wide logger (enabled, info, no file, no callback, console off). */
    fun begin(context: CaseContext)

    /** Runs one op with its (resolved) args and returns its result as plain JSON values; an unknown op throws. */
    @Throws(Exception::class)
    fun run(op: String, args: Map<String, Any?>): Any?

    /** The table's error kind of a failure (`invalid_argument`, `closed`, ...), or null when it is not the Ditto error. */
    fun errorKind(error: Throwable): String?

    /** After the last step, pass or fail: closes every instance and observer, unsets the callback and the log file. */
    fun end()
}

/** A `timeout`: an await op did not see what it waited for. */
class ConformanceTimeout(message: String) : Exception(message)

/** An op this runner does not map: the case fails, it is never skipped. */
class UnknownOp(op: String) : Exception("unknown op '$op' (this runner does not map it)")

/** One case's directory, what its callbacks recorded and its Big Peer. */
class CaseContext(
    /** The case's own temporary directory (the instance lives in its `ditto/`). */
    val directory: File
) {
    /** Store changes seen by `store.observe`, as "collection/id/upsert|remove". */
    val changes: MutableList<String> = CopyOnWriteArrayList()

    /** Messages seen by the custom log callback. */
    val logMessages: MutableList<String> = CopyOnWriteArrayList()

    private var started: BigPeer? = null

    /** The instance's directory. */
    fun dittoDirectory(): File = File(directory, "ditto")

    /** A path of the table, relative to the case's directory. */
    fun file(path: String): File = File(directory, path)

    /** Starts this case's Big Peer (stopped when the case ends). */
    fun startBigPeer(): BigPeer = BigPeer().also { started = it }

    /** The Big Peer `bigpeer.start` started. */
    fun bigPeer(): BigPeer = started ?: throw IllegalStateException("the case has not started a Big Peer (bigpeer.start)")

    /** Stops the Big Peer, if one was started. */
    fun close() {
        started?.close()
        started = null
    }
}

/** Typed reads of a step's args, shared by the runners. */
object Args {
    /** A required string. */
    @JvmStatic
    fun string(args: Map<String, Any?>, key: String): String = args[key] as String? ?: throw IllegalArgumentException("missing string arg '$key'")

    /** An optional string (absent or null: null). */
    @JvmStatic
    fun optString(args: Map<String, Any?>, key: String): String? = args[key] as String?

    /** A required integer. */
    @JvmStatic
    fun integer(args: Map<String, Any?>, key: String): Long = (args[key] as Number? ?: throw IllegalArgumentException("missing integer arg '$key'")).toLong()

    /** An optional integer (absent or null: null). */
    @JvmStatic
    fun optInteger(args: Map<String, Any?>, key: String): Long? = (args[key] as Number?)?.toLong()

    /** A required boolean. */
    @JvmStatic
    fun bool(args: Map<String, Any?>, key: String): Boolean = args[key] as Boolean? ?: throw IllegalArgumentException("missing boolean arg '$key'")

    /** A required object. */
    @JvmStatic
    @Suppress("UNCHECKED_CAST")
    fun obj(args: Map<String, Any?>, key: String): Map<String, Any?> = args[key] as Map<String, Any?>? ?: throw IllegalArgumentException("missing object arg '$key'")
}
