package io.smallpeer.testing

import io.smallpeer.DittoIdentity
import io.smallpeer.DittoTransportConfig
import com.google.gson.JsonParser
import java.io.Closeable
import java.io.File
import java.net.HttpURLConnection
import java.net.URL
import java.nio.file.Files
import java.util.concurrent.TimeUnit

/**
 * A real `smallpeer big-peer` process (env SMALLPEER_CLI) on a free loopback port, for the Kotlin
 * and Java suites alike. [close] stops it with SIGTERM.
 */
class BigPeer @JvmOverloads constructor(
    /** The app id the Big Peer serves. */
    val appId: String = "smallpeer-jvm-test",
    /** The app token it accepts. */
    val appToken: String = "smallpeer-jvm-test-token"
) : Closeable {
    /** Its data directory (deleted on close). */
    val dataDirectory: File = Files.createTempDirectory("smallpeer-big-peer").toFile()
    private val process: Process
    private val output = StringBuffer()
    /** Where the process writes its facts as JSON once it listens (`--ready-file`); its log lines are for people. */
    private val readyFile = File(dataDirectory.path + ".ready.json")
    private val httpUrl: String
    private val token: String

    init {
        val cli = System.getenv("SMALLPEER_CLI") ?: throw IllegalStateException("set SMALLPEER_CLI to the smallpeer command line")
        process = ProcessBuilder(cli, "big-peer", "--listen", "127.0.0.1:0", "--data", dataDirectory.path,
            "--app-id", appId, "--app-token", appToken, "--ready-file", readyFile.path).redirectErrorStream(true).start()
        val pump = Thread({
            try {
                process.inputStream.bufferedReader().forEachLine { line -> output.append(line).append('\n') }
            } catch (e: java.io.IOException) {
                // The JDK closes the pipe once the process has exited and been reaped: the end of the output.
            }
        }, "big-peer-output")
        pump.isDaemon = true
        pump.start()
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
        while (!readyFile.exists() && process.isAlive && System.nanoTime() < deadline) Thread.sleep(20)
        if (!readyFile.exists()) {
            close()
            throw IllegalStateException("the Big Peer did not start:\n$output")
        }
        val facts = JsonParser.parseString(readyFile.readText()).asJsonObject
        httpUrl = facts.get("url").asString
        token = facts.get("admin_token").asString
    }

    /** http://127.0.0.1:PORT */
    val url: String get() = httpUrl

    /** ws://127.0.0.1:PORT/sync */
    val syncUrl: String get() = url.replaceFirst("http://", "ws://") + "/sync"

    /** What the process printed so far. */
    val log: String get() = output.toString()

    /** A transport configuration that connects to this Big Peer. */
    fun transportConfig(): DittoTransportConfig = DittoTransportConfig().apply { connect.websocketURLs.add(syncUrl) }

    /** An online-playground identity this Big Peer accepts. */
    fun identity(): DittoIdentity = DittoIdentity.OnlinePlayground(appId, appToken)

    /** GET an API path with the admin token: the parsed JSON object, or null on 404. */
    fun get(path: String): Map<String, Any?>? {
        val connection = URL(url + path).openConnection() as HttpURLConnection
        connection.setRequestProperty("Authorization", "Bearer $token")
        connection.connectTimeout = 5000
        connection.readTimeout = 10000
        try {
            val status = connection.responseCode
            if (status == 404) return null
            check(status == 200) { "GET $path: HTTP $status" }
            val text = connection.inputStream.bufferedReader().readText()
            @Suppress("UNCHECKED_CAST")
            return toPlain(JsonParser.parseString(text)) as Map<String, Any?>
        } finally {
            connection.disconnect()
        }
    }

    /** POST a JSON body to an API path with the admin token: the parsed answer; fails unless HTTP `status`. */
    fun post(path: String, body: String, status: Int = 201): Map<String, Any?> {
        val connection = URL(url + path).openConnection() as HttpURLConnection
        connection.requestMethod = "POST"
        connection.doOutput = true
        connection.setRequestProperty("Authorization", "Bearer $token")
        connection.setRequestProperty("Content-Type", "application/json")
        connection.connectTimeout = 5000
        connection.readTimeout = 10000
        try {
            connection.outputStream.use { it.write(body.toByteArray()) }
            val got = connection.responseCode
            val text = (if (got < 400) connection.inputStream else connection.errorStream).bufferedReader().readText()
            check(got == status) { "POST $path: HTTP $got $text" }
            @Suppress("UNCHECKED_CAST")
            return toPlain(JsonParser.parseString(text)) as Map<String, Any?>
        } finally {
            connection.disconnect()
        }
    }

    /** GET an API path with the admin token and return the body's bytes (downloads); fails unless HTTP 200. */
    fun getBytes(path: String): ByteArray {
        val connection = URL(url + path).openConnection() as HttpURLConnection
        connection.setRequestProperty("Authorization", "Bearer $token")
        connection.connectTimeout = 5000
        connection.readTimeout = 10000
        try {
            val status = connection.responseCode
            check(status == 200) { "GET $path: HTTP $status" }
            return connection.inputStream.readBytes()
        } finally {
            connection.disconnect()
        }
    }

    /** The document as the Big Peer has it (the API's `document` member), or null. */
    fun document(collection: String, id: String): Map<String, Any?>? {
        val record = get("/api/v1/collections/$collection/documents/$id") ?: return null
        @Suppress("UNCHECKED_CAST")
        return record["document"] as Map<String, Any?>?
    }

    /** Polls until the document exists and satisfies [predicate], or [timeoutMillis] passes (then null). */
    @JvmOverloads
    fun waitForDocument(collection: String, id: String, timeoutMillis: Long = 20_000,
                        predicate: (Map<String, Any?>) -> Boolean = { true }): Map<String, Any?>? {
        val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis)
        while (System.nanoTime() < deadline) {
            val doc = document(collection, id)
            if (doc != null && predicate(doc)) return doc
            Thread.sleep(100)
        }
        return null
    }

    /** Stops the process (SIGTERM, then kill after 15 s) and deletes its data. */
    override fun close() {
        if (process.isAlive) {
            process.destroy()
            if (!process.waitFor(15, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
        }
        dataDirectory.deleteRecursively()
        readyFile.delete()
    }

    private fun toPlain(e: com.google.gson.JsonElement): Any? = when {
        e.isJsonNull -> null
        e.isJsonObject -> e.asJsonObject.entrySet().associate { (k, v) -> k to toPlain(v) }
        e.isJsonArray -> e.asJsonArray.map { toPlain(it) }
        e.asJsonPrimitive.isBoolean -> e.asBoolean
        e.asJsonPrimitive.isNumber -> number(e.asNumber.toString())
        else -> e.asString
    }

    private fun number(text: String): Number =
        if (text.any { it == '.' || it == 'e' || it == 'E' }) text.toDouble() else text.toLong()

    /** Helpers shared by the suites. */
    companion object {
        /** A fresh temporary directory for a small peer. */
        @JvmStatic
        fun tempDirectory(): File = Files.createTempDirectory("smallpeer-small-peer").toFile()

        /** Polls [condition] until it holds or [timeoutMillis] passes; returns whether it held. */
        @JvmStatic
        fun eventually(timeoutMillis: Long, condition: () -> Boolean): Boolean {
            val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis)
            while (System.nanoTime() < deadline) {
                if (condition()) return true
                Thread.sleep(20)
            }
            return condition()
        }

        /** The live threads attached by the JNI layer for callbacks. */
        @JvmStatic
        fun callbackThreads(): List<Thread> = Thread.getAllStackTraces().keys.filter { it.name == "smallpeer-callback" }
    }
}
