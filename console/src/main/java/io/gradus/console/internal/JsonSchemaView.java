package io.gradus.console.internal;

import io.gradus.api.technique.ConfigSchema;
import io.gradus.api.technique.ConfigSchema.Field;
import io.gradus.api.technique.ConfigSchema.Kind;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Locale;

/**
 * A {@link ConfigSchema} as a JSON Schema (draft 2020-12), what the page builds its settings forms
 * from: an object schema with one property per field, in the record's order.
 */
final class JsonSchemaView {

    static final String DIALECT = "https://json-schema.org/draft/2020-12/schema";

    private JsonSchemaView() {}

    /** The schema document: {@code title} and {@code description} say what is configured. */
    static JsonObject of(ConfigSchema schema, String title, String description) {
        return new JsonObject()
                .put("$schema", DIALECT)
                .put("title", title)
                .put("description", description)
                .mergeIn(object(schema));
    }

    private static JsonObject object(ConfigSchema schema) {
        JsonObject properties = new JsonObject();
        JsonArray required = new JsonArray();
        for (Field field : schema.fields()) {
            properties.put(field.name(), property(field));
            if (field.required()) {
                required.add(field.name());
            }
        }
        JsonObject object = new JsonObject().put("type", "object").put("properties", properties)
                .put("additionalProperties", false);
        if (!required.isEmpty()) {
            object.put("required", required);
        }
        return object;
    }

    private static JsonObject property(Field field) {
        JsonObject p = field.nested() != null ? object(field.nested()) : new JsonObject();
        if (field.kind() != Kind.ANY) {
            p.put("type", type(field.kind()));
        }
        if (!field.description().isEmpty()) {
            p.put("description", field.description());
        }
        if (field.defaultValue() != null) {
            p.put("default", JsonView.of(field.defaultValue()));
        }
        JsonObject bounded = p;
        if (field.kind() == Kind.LIST) {
            JsonObject items = new JsonObject();
            if (field.items() != null && field.items() != Kind.ANY) {
                items.put("type", type(field.items()));
            }
            p.put("items", items);
            bounded = items;
        }
        if (!field.choices().isEmpty()) {
            bounded.put("enum", new JsonArray(field.choices()));
        }
        if (field.minimum() != null) {
            p.put(field.exclusiveMinimum() ? "exclusiveMinimum" : "minimum", field.minimum());
        }
        if (field.maximum() != null) {
            p.put(field.exclusiveMaximum() ? "exclusiveMaximum" : "maximum", field.maximum());
        }
        if (field.live()) {
            p.put("x-gradus-live", true);
        }
        return p;
    }

    private static String type(Kind kind) {
        return kind == Kind.LIST ? "array" : kind.name().toLowerCase(Locale.ROOT);
    }
}
