package io.gradus.plugin.full;

import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.technique.TechniqueException;
import io.gradus.api.technique.TechniqueName;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.osgi.service.component.annotations.Component;

/**
 * The {@code full} tuner: classic fine-tuning, every parameter trains. The baseline every
 * parameter-efficient technique is measured against (its memory bill includes a gradient and two
 * AdamW moments for every weight).
 */
@Component(service = Tuner.class)
@TechniqueName("full")
public final class FullTechnique implements Tuner<FullConfig> {

    @Override
    public Class<FullConfig> configType() {
        return FullConfig.class;
    }

    @Override
    public String description() {
        return "Full fine-tuning: all parameters train (optionally minus a frozen set)";
    }

    @Override
    public Tuning apply(Model model, FullConfig config) {
        List<Pattern> frozen = config.freeze().stream().map(Pattern::compile).toList();
        boolean[] used = new boolean[frozen.size()];
        List<Parameter> trainable = new ArrayList<>();
        for (Parameter parameter : model.parameters()) {
            boolean freeze = false;
            for (int i = 0; i < frozen.size(); i++) {
                if (frozen.get(i).matcher(parameter.name()).matches()) {
                    used[i] = true;
                    freeze = true;
                }
            }
            parameter.setTrainable(!freeze);
            if (!freeze) {
                trainable.add(parameter);
            }
        }
        for (int i = 0; i < used.length; i++) {
            if (!used[i]) {
                throw new TechniqueException("full: freeze pattern '" + config.freeze().get(i)
                        + "' matches no parameter of the model (its first parameter is '"
                        + model.parameters().getFirst().name() + "')");
            }
        }
        List<Parameter> result = List.copyOf(trainable);
        return () -> result;
    }
}
