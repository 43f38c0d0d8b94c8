package io.gradus.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradus.api.job.Hyperparameters;
import io.gradus.api.technique.ConfigSchema;
import io.gradus.api.technique.ConfigSchema.Field;
import io.gradus.api.technique.ConfigSchema.Kind;
import io.gradus.api.technique.Live;
import io.gradus.api.technique.Setting;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Schemas of configuration records")
class RecordSchemasTest {

    private final RecordSchemas schemas = new RecordSchemas();

    enum Shape { ROUND, SQUARE }

    /** An annotated record whose constructor fills defaults, with every kind of component. */
    public record Annotated(
            @Setting(description = "Rank of the update.", min = 1) Integer rank,
            @Setting(description = "Dropout.", min = 0, max = 1, exclusiveMax = true) @Live Double dropout,
            @Setting(choices = {"q_proj", "v_proj", "all-linear"}) List<String> targets,
            Boolean flag,
            Shape shape,
            Set<Shape> shapes,
            Object factor,
            Nested nested,
            Map<String, Integer> table) {

        public Annotated {
            rank = rank == null ? 8 : rank;
            dropout = dropout == null ? 0.1 : dropout;
            targets = targets == null ? List.of("q_proj", "v_proj") : targets;
            flag = flag != null && flag;
            shape = shape == null ? Shape.ROUND : shape;
            factor = factor == null ? "auto" : factor;
            nested = nested == null ? new Nested(null) : nested;
        }
    }

    /** A record inside another, as QLoRA's LoRA settings are. */
    public record Nested(@Setting(description = "Inner width.") Integer width) {
        public Nested {
            width = width == null ? 4 : width;
        }
    }

    /** A record that cannot bind from {}: a primitive must be given, and the constructor refuses a missing name. */
    public record Required(String name, int count) {
        public Required {
            if (name == null) {
                throw new IllegalArgumentException("name is required");
            }
        }
    }

    /** A record that holds itself. */
    public record Chain(Chain next) {}

    private static Field field(ConfigSchema schema, String name) {
        return schema.fields().stream().filter(f -> f.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    @DisplayName("lists the components in declaration order with their kinds, item kinds and choices")
    void kinds() {
        ConfigSchema schema = schemas.of(Annotated.class);

        assertThat(schema.name()).isEqualTo("Annotated");
        assertThat(schema.fields()).extracting(Field::name)
                .containsExactly("rank", "dropout", "targets", "flag", "shape", "shapes", "factor", "nested", "table");
        assertThat(schema.fields()).extracting(Field::kind).containsExactly(Kind.INTEGER, Kind.NUMBER, Kind.LIST,
                Kind.BOOLEAN, Kind.STRING, Kind.LIST, Kind.ANY, Kind.OBJECT, Kind.OBJECT);
        assertThat(field(schema, "targets").items()).isEqualTo(Kind.STRING);
        assertThat(field(schema, "targets").choices()).containsExactly("q_proj", "v_proj", "all-linear");
        assertThat(field(schema, "shape").choices()).containsExactly("ROUND", "SQUARE");
        assertThat(field(schema, "shapes").items()).isEqualTo(Kind.STRING);
        assertThat(field(schema, "shapes").choices()).containsExactly("ROUND", "SQUARE");
        assertThat(field(schema, "rank").items()).isNull();
    }

    @Test
    @DisplayName("takes descriptions, bounds and the live mark from the annotations, and nothing from unannotated components")
    void annotations() {
        ConfigSchema schema = schemas.of(Annotated.class);

        Field rank = field(schema, "rank");
        assertThat(rank.description()).isEqualTo("Rank of the update.");
        assertThat(rank.minimum()).isEqualTo(1.0);
        assertThat(rank.exclusiveMinimum()).isFalse();
        assertThat(rank.maximum()).isNull();
        Field dropout = field(schema, "dropout");
        assertThat(dropout.maximum()).isEqualTo(1.0);
        assertThat(dropout.exclusiveMaximum()).isTrue();
        assertThat(dropout.live()).isTrue();
        assertThat(rank.live()).isFalse();
        Field flag = field(schema, "flag");
        assertThat(flag.description()).isEmpty();
        assertThat(flag.minimum()).isNull();
        assertThat(flag.choices()).isEmpty();
    }

    @Test
    @DisplayName("gives as defaults what binding an empty config gives, as plain JSON values, nested records included")
    void defaults() {
        ConfigSchema schema = schemas.of(Annotated.class);
        Annotated bound = JobFiles.bind(Map.of(), Annotated.class, "test");

        assertThat(field(schema, "rank").defaultValue()).isEqualTo(bound.rank()).isEqualTo(8);
        assertThat(field(schema, "dropout").defaultValue()).isEqualTo(0.1);
        assertThat(field(schema, "targets").defaultValue()).isEqualTo(List.of("q_proj", "v_proj"));
        assertThat(field(schema, "flag").defaultValue()).isEqualTo(false);
        assertThat(field(schema, "shape").defaultValue()).isEqualTo("ROUND");
        assertThat(field(schema, "shapes").defaultValue()).isNull();
        assertThat(field(schema, "factor").defaultValue()).isEqualTo("auto");
        assertThat(field(schema, "nested").defaultValue()).isEqualTo(Map.of("width", 4));
        assertThat(schema.fields()).noneMatch(Field::required);

        ConfigSchema nested = field(schema, "nested").nested();
        assertThat(nested.name()).isEqualTo("Nested");
        assertThat(nested.fields()).singleElement().satisfies(f -> {
            assertThat(f.name()).isEqualTo("width");
            assertThat(f.defaultValue()).isEqualTo(4);
            assertThat(f.description()).isEqualTo("Inner width.");
        });
    }

    @Test
    @DisplayName("marks every component of a record that cannot bind from {} as required, with no defaults")
    void required() {
        ConfigSchema schema = schemas.of(Required.class);

        assertThat(schema.fields()).extracting(Field::kind).containsExactly(Kind.STRING, Kind.INTEGER);
        assertThat(schema.fields()).allSatisfy(f -> {
            assertThat(f.required()).isTrue();
            assertThat(f.defaultValue()).isNull();
        });
    }

    @Test
    @DisplayName("describes the job's hyper-parameters with the defaults of Hyperparameters.defaults()")
    void hyperparameters() {
        ConfigSchema schema = schemas.of(Hyperparameters.class);
        Hyperparameters defaults = Hyperparameters.defaults();

        assertThat(field(schema, "steps").defaultValue()).isEqualTo(defaults.steps());
        assertThat(field(schema, "learningRate").defaultValue()).isEqualTo(defaults.learningRate());
        assertThat(field(schema, "schedule").choices()).containsExactly("cosine", "linear", "constant");
        assertThat(field(schema, "schedule").defaultValue()).isEqualTo("cosine");
        assertThat(field(schema, "beta2").exclusiveMaximum()).isTrue();
        assertThat(schema.fields()).allSatisfy(f -> assertThat(f.description()).isNotEmpty());
    }

    @Test
    @DisplayName("stops at a record that holds itself, and refuses a class that is not a record")
    void edges() {
        Field next = schemas.of(Chain.class).fields().getFirst();
        assertThat(next.kind()).isEqualTo(Kind.OBJECT);
        assertThat(next.nested()).isNull();

        assertThatThrownBy(() -> schemas.of(String.class)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("String is not a record; configurations are records");
    }
}
