#if( $family == "tuner" )
package ${package};

import io.gradus.api.technique.Setting;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Settings of the {@code ${name}} tuner: the host binds a job file's {@code tuner.config} to this
 * record (a field it does not know is an error naming it). Validate every field here and throw
 * {@link IllegalArgumentException} naming the field: the host reports it with the job file.
 * {@link Setting} tells people what a field is for: the console's job form and the settings
 * schema ({@code GET /api/techniques/tuner/${name}/schema}) show its description and bounds.
 *
 * @param trainable regular expressions of the parameter names that train, in Hugging Face's names
 *     (e.g. {@code model\.layers\.\d+\.mlp\..*}); default: the MLP projections
 */
public record ${className}Config(
        @Setting(description = "Regular expressions of the parameter names that train (Hugging Face's names); "
                + "by default the MLP projections.") List<String> trainable) {

    public ${className}Config {
        trainable = trainable == null ? List.of("model\\.layers\\.\\d+\\.mlp\\..*") : List.copyOf(trainable);
        for (String pattern : trainable) {
            try {
                Pattern.compile(pattern);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("trainable: '" + pattern + "' is not a regular expression ("
                        + e.getDescription() + ")");
            }
        }
    }

    /** Every setting at its default. */
    public static ${className}Config defaults() {
        return new ${className}Config(null);
    }
}
#else
package ${package};

import io.gradus.api.technique.Setting;

/**
 * Settings of the {@code ${name}} objective: the host binds a job file's {@code objective.config}
 * to this record (a field it does not know is an error naming it). Validate every field here and
 * throw {@link IllegalArgumentException} naming the field: the host reports it with the job file.
 * {@link Setting} tells people what a field is for: the console's job form and the settings
 * schema ({@code GET /api/techniques/objective/${name}/schema}) show its description and bounds.
 *
 * @param field the field of each JSONL record that holds the text; default {@code text}
 */
public record ${className}Config(
        @Setting(description = "The field of each JSONL record that holds the text.") String field) {

    public ${className}Config {
        field = field == null ? "text" : field;
        if (field.isBlank()) {
            throw new IllegalArgumentException("field: must name a field of the data's records, was blank");
        }
    }

    /** Every setting at its default. */
    public static ${className}Config defaults() {
        return new ${className}Config(null);
    }
}
#end
