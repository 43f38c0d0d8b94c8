#if( $family == "tuner" )
package ${package};

import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.TechniqueName;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import java.util.List;
import java.util.regex.Pattern;
import org.osgi.service.component.annotations.Component;

/**
 * The {@code ${name}} tuner: trains the parameters whose names match the configured patterns and
 * freezes the others. Start from here: a tuner may also replace linear modules
 * ({@code Model.replaceLinear}) with its own, as LoRA and IA³ do (see docs/PLUGINS.md).
 *
 * <p>Registered as a {@link Tuner} service named {@code ${name}} by Declarative Services; its
 * version is this bundle's version.
 */
@Component(service = Tuner.class)
@TechniqueName("${name}")
public final class ${className}Technique implements Tuner<${className}Config> {

    @Override
    public Class<${className}Config> configType() {
        return ${className}Config.class;
    }

    @Override
    public String description() {
        return "Trains the parameters whose names match the configured patterns";
    }

    @Override
    public Tuning apply(Model model, ${className}Config config) {
        List<Pattern> patterns = config.trainable().stream().map(Pattern::compile).toList();
        for (Parameter p : model.parameters()) {
            p.setTrainable(patterns.stream().anyMatch(pattern -> pattern.matcher(p.name()).matches()));
        }
        List<Parameter> trainable = model.parameters().stream().filter(Parameter::trainable).toList();
        if (trainable.isEmpty()) {
            throw new TechniqueException("${name}: no parameter matches " + config.trainable());
        }
        return () -> trainable;
    }
}
#else
package ${package};

import io.gradus.api.data.Example;
import io.gradus.api.data.TextTokenizer;
import io.gradus.api.model.ModelRunner;
import io.gradus.api.model.TokenBatch;
import io.gradus.api.technique.NextTokenLoss;
import io.gradus.api.technique.Objective;
import io.gradus.api.technique.StepResult;
import io.gradus.api.technique.TechniqueName;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/**
 * The {@code ${name}} objective: next-token cross-entropy on the text of one field of each record,
 * loss = (1/N) Σ −log softmax(logits_i)[label_i] over the N labelled positions. Start from here: an
 * objective runs the forward passes it needs through the {@link ModelRunner}, computes its loss and
 * the loss's gradient with respect to the logits, and hands that to the backward pass.
 *
 * <p>Registered as an {@link Objective} service named {@code ${name}} by Declarative Services; its
 * version is this bundle's version.
 */
@Component(service = Objective.class)
@TechniqueName("${name}")
public final class ${className}Technique implements Objective<${className}Config> {

    @Override
    public Class<${className}Config> configType() {
        return ${className}Config.class;
    }

    @Override
    public String description() {
        return "Next-token cross-entropy on the text of one field of each record";
    }

    @Override
    public StepResult step(${className}Config config, TokenBatch batch, ModelRunner runner, float gradScale) {
        return NextTokenLoss.step(batch, runner, gradScale);
    }

    /** A record becomes the tokens of its text, every one a target. */
    @Override
    public Example encode(${className}Config config, Map<String, Object> record, TextTokenizer tokenizer) {
        if (!(record.get(config.field()) instanceof String text)) {
            throw new IllegalArgumentException("a record needs a \"" + config.field() + "\" string field; this one has "
                    + record.keySet());
        }
        return Example.allTargets(tokenizer.encode(text));
    }
}
#end
