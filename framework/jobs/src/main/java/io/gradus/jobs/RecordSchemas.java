package io.gradus.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.gradus.api.job.JobException;
import io.gradus.api.technique.ConfigSchema;
import io.gradus.api.technique.ConfigSchema.Field;
import io.gradus.api.technique.ConfigSchema.Kind;
import io.gradus.api.technique.ConfigSchemas;
import io.gradus.api.technique.Live;
import io.gradus.api.technique.Setting;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@link ConfigSchemas} by reflection over record components. A field's default is what binding an
 * empty object gives ({@link JobFiles#bind}, the binder of a job's {@code config}), so the form shows
 * exactly what a job that leaves the field out gets.
 */
public final class RecordSchemas implements ConfigSchemas {

    /** Turns default values (records, lists, enums) into plain JSON values. */
    private static final ObjectMapper PLAIN = JsonMapper.builder().build();

    @Override
    public ConfigSchema of(Class<?> recordType) {
        if (!recordType.isRecord()) {
            throw new IllegalArgumentException(recordType.getSimpleName() + " is not a record; configurations are records");
        }
        return schema(recordType, new HashSet<>());
    }

    /** @param enclosing the records being described around this one: a record that holds itself stops there */
    private ConfigSchema schema(Class<?> recordType, Set<Class<?>> enclosing) {
        enclosing.add(recordType);
        Object defaults = defaults(recordType);
        List<Field> fields = new ArrayList<>();
        for (RecordComponent component : recordType.getRecordComponents()) {
            Class<?> raw = component.getType();
            Kind kind = kind(raw);
            Class<?> itemType = kind == Kind.LIST ? itemType(component.getGenericType()) : null;
            Setting setting = component.getAnnotation(Setting.class);
            List<String> choices = setting != null && setting.choices().length > 0
                    ? List.of(setting.choices())
                    : enumChoices(kind == Kind.LIST ? itemType : raw);
            ConfigSchema nested = raw.isRecord() && !enclosing.contains(raw) ? schema(raw, enclosing) : null;
            fields.add(new Field(
                    component.getName(),
                    kind,
                    itemType == null ? null : kind(itemType),
                    defaults == null ? null : plain(read(component, defaults)),
                    defaults == null,
                    setting == null ? "" : setting.description(),
                    setting == null || setting.min() == Double.NEGATIVE_INFINITY ? null : setting.min(),
                    setting != null && setting.exclusiveMin(),
                    setting == null || setting.max() == Double.POSITIVE_INFINITY ? null : setting.max(),
                    setting != null && setting.exclusiveMax(),
                    choices,
                    component.isAnnotationPresent(Live.class),
                    nested));
        }
        enclosing.remove(recordType);
        return new ConfigSchema(recordType.getSimpleName(), fields);
    }

    /** The record a job gets from an empty {@code config}, or null when that does not bind (a required field). */
    private static Object defaults(Class<?> recordType) {
        try {
            return JobFiles.bind(Map.of(), recordType, recordType.getSimpleName());
        } catch (JobException e) {
            return null;
        }
    }

    private static Object read(RecordComponent component, Object record) {
        try {
            return component.getAccessor().invoke(record);
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("cannot read " + component.getName() + " of " + record.getClass().getSimpleName(), e);
        }
    }

    private static Object plain(Object value) {
        return value == null ? null : PLAIN.convertValue(value, Object.class);
    }

    static Kind kind(Class<?> type) {
        if (type == int.class || type == long.class || type == short.class || type == byte.class || type == Integer.class
                || type == Long.class || type == Short.class || type == Byte.class || type == BigInteger.class) {
            return Kind.INTEGER;
        }
        if (type == double.class || type == float.class || type == Double.class || type == Float.class
                || type == BigDecimal.class) {
            return Kind.NUMBER;
        }
        if (type == boolean.class || type == Boolean.class) {
            return Kind.BOOLEAN;
        }
        if (type == String.class || type == char.class || type == Character.class || type.isEnum()) {
            return Kind.STRING;
        }
        if (type.isArray() || Collection.class.isAssignableFrom(type)) {
            return Kind.LIST;
        }
        if (type.isRecord() || Map.class.isAssignableFrom(type)) {
            return Kind.OBJECT;
        }
        return Kind.ANY;
    }

    /** The element class of a list or array type ({@code Object} when it is not declared). */
    private static Class<?> itemType(Type type) {
        Type element = switch (type) {
            case Class<?> c when c.isArray() -> c.getComponentType();
            case GenericArrayType g -> g.getGenericComponentType();
            case ParameterizedType p -> p.getActualTypeArguments()[0];
            default -> Object.class;
        };
        if (element instanceof WildcardType w) {
            element = w.getUpperBounds()[0];
        }
        if (element instanceof ParameterizedType p) {
            element = p.getRawType();
        }
        return element instanceof Class<?> c ? c : Object.class;
    }

    private static List<String> enumChoices(Class<?> type) {
        return type != null && type.isEnum()
                ? Arrays.stream(type.getEnumConstants()).map(c -> ((Enum<?>) c).name()).toList()
                : List.of();
    }
}
