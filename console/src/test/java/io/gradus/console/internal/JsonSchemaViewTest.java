package io.gradus.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.api.technique.ConfigSchema;
import io.gradus.api.technique.ConfigSchema.Field;
import io.gradus.api.technique.ConfigSchema.Kind;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Configuration schemas as JSON Schema")
class JsonSchemaViewTest {

    private static Field field(String name, Kind kind, Kind items, Object fallback, boolean required, Double min,
            boolean exclusiveMin, Double max, boolean exclusiveMax, List<String> choices, boolean live, ConfigSchema nested) {
        return new Field(name, kind, items, fallback, required, name.equals("rank") ? "Rank." : "", min, exclusiveMin, max,
                exclusiveMax, choices, live, nested);
    }

    @Test
    @DisplayName("writes types, items, defaults, bounds (inclusive or exclusive), enums, required, nested objects and the live mark")
    void everyFacet() {
        ConfigSchema inner = new ConfigSchema("Inner", List.of(field("width", Kind.INTEGER, null, 4, false, null, false, null,
                false, List.of(), false, null)));
        ConfigSchema schema = new ConfigSchema("Test", List.of(
                field("rank", Kind.INTEGER, null, 8, false, 1.0, false, null, false, List.of(), false, null),
                field("dropout", Kind.NUMBER, null, 0.1, false, 0.0, false, 1.0, true, List.of(), true, null),
                field("targets", Kind.LIST, Kind.STRING, List.of("q_proj"), false, null, false, null, false, List.of("q_proj", "v_proj"),
                        false, null),
                field("factor", Kind.ANY, null, null, true, null, false, null, false, List.of(), false, null),
                field("inner", Kind.OBJECT, null, Map.of("width", 4), false, null, false, null, false, List.of(), false, inner)));

        JsonObject json = JsonSchemaView.of(schema, "tuner test 1.0.0", "A test.");

        assertThat(json.getString("$schema")).isEqualTo("https://json-schema.org/draft/2020-12/schema");
        assertThat(json.getString("title")).isEqualTo("tuner test 1.0.0");
        assertThat(json.getString("type")).isEqualTo("object");
        assertThat(json.getBoolean("additionalProperties")).isFalse();
        assertThat(json.getJsonArray("required").getList()).containsExactly("factor");
        JsonObject p = json.getJsonObject("properties");
        assertThat(p.fieldNames()).containsExactly("rank", "dropout", "targets", "factor", "inner");
        assertThat(p.getJsonObject("rank").encode()).isEqualTo("{\"type\":\"integer\",\"description\":\"Rank.\",\"default\":8,\"minimum\":1.0}");
        assertThat(p.getJsonObject("dropout").encode()).isEqualTo(
                "{\"type\":\"number\",\"default\":0.1,\"minimum\":0.0,\"exclusiveMaximum\":1.0,\"x-gradus-live\":true}");
        assertThat(p.getJsonObject("targets").encode()).isEqualTo(
                "{\"type\":\"array\",\"default\":[\"q_proj\"],\"items\":{\"type\":\"string\",\"enum\":[\"q_proj\",\"v_proj\"]}}");
        assertThat(p.getJsonObject("factor").encode()).isEqualTo("{}");
        JsonObject nested = p.getJsonObject("inner");
        assertThat(nested.getString("type")).isEqualTo("object");
        assertThat(nested.getJsonObject("properties").getJsonObject("width").getInteger("default")).isEqualTo(4);
        assertThat(nested.getJsonObject("default").getInteger("width")).isEqualTo(4);
    }
}
