package io.smallpeer

import com.google.gson.JsonArray
import com.google.gson.JsonElement
import com.google.gson.JsonNull
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import com.google.gson.JsonPrimitive
import java.math.BigDecimal
import java.math.BigInteger

/**
 * JSON text <-> plain JVM values (Map<String, Any?>, List<Any?>, String, Long, Double, Boolean,
 * null), parsed and printed by Gson. Only those kinds of values are accepted, so an arbitrary
 * object is an error naming its place rather than whatever reflection would make of it.
 */
internal object Json {
    /** Deeper nesting than this is refused before any JSON is printed (the C API's own limits are lower). */
    const val MAX_DEPTH = 512

    /** Prints a JSON object; [what] names the value in errors (a value that is not JSON: [DittoError.Validation], as metadata that is not JSON is). */
    @Throws(DittoError::class)
    fun encodeObject(value: Map<*, *>, what: String): String = toElement(value, what, 1).toString()

    /** Parses JSON text from the C API. */
    fun decode(text: String): Any? = fromElement(JsonParser.parseString(text))

    /** Parses a JSON object from the C API. */
    @Suppress("UNCHECKED_CAST")
    fun decodeObject(text: String): Map<String, Any?> = decode(text) as Map<String, Any?>

    private fun toElement(value: Any?, path: String, depth: Int): JsonElement {
        if (depth > MAX_DEPTH) throw DittoError.Validation("$path is nested more than $MAX_DEPTH levels deep")
        return when (value) {
            null -> JsonNull.INSTANCE
            is String -> JsonPrimitive(value)
            is Boolean -> JsonPrimitive(value)
            is Char -> JsonPrimitive(value.toString())
            is Double -> JsonPrimitive(finite(value, path))
            is Float -> JsonPrimitive(finite(value.toDouble(), path))
            is Int, is Long, is Short, is Byte, is BigInteger, is BigDecimal -> JsonPrimitive(value as Number)
            is Map<*, *> -> JsonObject().also { obj ->
                for ((key, item) in value) {
                    if (key !is String) {
                        throw DittoError.Validation("$path has a key of type ${key?.javaClass?.name ?: "null"}; JSON keys are strings")
                    }
                    obj.add(key, toElement(item, "$path.$key", depth + 1))
                }
            }
            is Iterable<*> -> JsonArray().also { array ->
                value.forEachIndexed { i, item -> array.add(toElement(item, "$path[$i]", depth + 1)) }
            }
            is Array<*> -> toElement(value.asList(), path, depth)
            else -> throw DittoError.Validation(
                "$path is a ${value.javaClass.name}, which is not a JSON value (use Map, List, String, Number, Boolean or null)")
        }
    }

    private fun finite(value: Double, path: String): Double {
        if (value.isNaN() || value.isInfinite()) throw DittoError.Validation("$path is $value; JSON numbers are finite")
        return value
    }

    private fun fromElement(element: JsonElement): Any? = when {
        element.isJsonNull -> null
        element.isJsonObject -> LinkedHashMap<String, Any?>().also { map ->
            for ((key, item) in element.asJsonObject.entrySet()) map[key] = fromElement(item)
        }
        element.isJsonArray -> element.asJsonArray.map { fromElement(it) }
        else -> {
            val primitive = element.asJsonPrimitive
            when {
                primitive.isBoolean -> primitive.asBoolean
                primitive.isString -> primitive.asString
                else -> number(primitive.asString)
            }
        }
    }

    /** Integers that fit become Long, everything else Double. */
    private fun number(text: String): Number =
        if (text.any { it == '.' || it == 'e' || it == 'E' }) text.toDouble() else text.toLongOrNull() ?: text.toDouble()
}
