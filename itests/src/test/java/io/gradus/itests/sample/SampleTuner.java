package io.gradus.itests.sample;

import io.gradus.api.model.Model;
import io.gradus.api.model.Parameter;
import io.gradus.api.technique.TechniqueName;
import io.gradus.api.technique.Tuner;
import io.gradus.api.technique.Tuning;
import java.util.List;
import java.util.regex.Pattern;
import org.osgi.service.component.annotations.Component;

/**
 * A third-party technique as a plugin author writes one: the tests package it into bundles of two
 * versions at run time and hot-swap them.
 */
@Component(service = Tuner.class)
@TechniqueName("sample")
public final class SampleTuner implements Tuner<SampleConfig> {

    @Override
    public Class<SampleConfig> configType() {
        return SampleConfig.class;
    }

    @Override
    public String description() {
        return "Trains the parameters whose names match a pattern";
    }

    @Override
    public Tuning apply(Model model, SampleConfig config) {
        Pattern pattern = Pattern.compile(config.trainable());
        for (Parameter p : model.parameters()) {
            p.setTrainable(pattern.matcher(p.name()).matches());
        }
        List<Parameter> trainable = model.parameters().stream().filter(Parameter::trainable).toList();
        return () -> trainable;
    }
}
