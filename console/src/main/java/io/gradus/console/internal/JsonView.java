package io.gradus.console.internal;

import io.gradus.api.technique.TechniqueFamily;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.time.temporal.TemporalAccessor;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;

/**
 * Turns the API's records (bundles, techniques, events) into JSON, component by component, so the
 * JSON shape is exactly the record shape documented in the API and nothing is maintained twice.
 */
final class JsonView {

    private JsonView() {}

    static Object of(Object value) {
        return switch (value) {
            case null -> null;
            case String s -> s;
            case Number n -> n;
            case Boolean b -> b;
            case TechniqueFamily f -> f.label();
            case Enum<?> e -> e.name().toLowerCase(Locale.ROOT);
            case TemporalAccessor t -> t.toString();
            case Collection<?> c -> new JsonArray(c.stream().map(JsonView::of).toList());
            case Map<?, ?> m -> {
                JsonObject o = new JsonObject();
                m.forEach((k, v) -> o.put(String.valueOf(k), of(v)));
                yield o;
            }
            case Record r -> record(r);
            default -> value.toString();
        };
    }

    static JsonObject record(Record record) {
        JsonObject json = new JsonObject();
        for (RecordComponent component : record.getClass().getRecordComponents()) {
            try {
                json.put(component.getName(), of(component.getAccessor().invoke(record)));
            } catch (IllegalAccessException | InvocationTargetException e) {
                throw new IllegalStateException("cannot read " + component + " of " + record.getClass(), e);
            }
        }
        return json;
    }
}
