package io.gradus.console.internal;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Arrays;
import org.osgi.framework.Bundle;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.component.runtime.dto.UnsatisfiedReferenceDTO;

/**
 * A bundle's Declarative Services components as SCR sees them: name, implementation class, the
 * services it provides, and the state of each configuration (with the references that keep an
 * unsatisfied one from activating). The host cannot ask SCR (it lives outside the framework's
 * class spaces); the console, a bundle, can.
 */
final class ComponentsView {

    private ComponentsView() {}

    static JsonArray of(ServiceComponentRuntime scr, Bundle bundle) {
        JsonArray components = new JsonArray();
        for (ComponentDescriptionDTO description : scr.getComponentDescriptionDTOs(bundle)) {
            JsonArray configurations = new JsonArray();
            for (ComponentConfigurationDTO configuration : scr.getComponentConfigurationDTOs(description)) {
                configurations.add(new JsonObject()
                        .put("id", configuration.id)
                        .put("state", state(configuration.state))
                        .put("unsatisfiedReferences", new JsonArray(Arrays.stream(configuration.unsatisfiedReferences)
                                .map(ComponentsView::reference).toList()))
                        .put("failure", configuration.failure));
            }
            boolean enabled = scr.isComponentEnabled(description);
            components.add(new JsonObject()
                    .put("name", description.name)
                    .put("implementation", description.implementationClass)
                    .put("services", new JsonArray(Arrays.asList(description.serviceInterfaces)))
                    .put("state", !enabled ? "DISABLED"
                            : configurations.isEmpty() ? "NO_CONFIGURATION"
                            : configurations.getJsonObject(0).getString("state"))
                    .put("configurations", configurations));
        }
        return components;
    }

    private static String reference(UnsatisfiedReferenceDTO reference) {
        return reference.name + (reference.target == null ? "" : " " + reference.target);
    }

    private static String state(int state) {
        return switch (state) {
            case ComponentConfigurationDTO.UNSATISFIED_CONFIGURATION -> "UNSATISFIED_CONFIGURATION";
            case ComponentConfigurationDTO.UNSATISFIED_REFERENCE -> "UNSATISFIED_REFERENCE";
            case ComponentConfigurationDTO.SATISFIED -> "SATISFIED";
            case ComponentConfigurationDTO.ACTIVE -> "ACTIVE";
            case ComponentConfigurationDTO.FAILED_ACTIVATION -> "FAILED_ACTIVATION";
            default -> "UNKNOWN(" + state + ")";
        };
    }
}
