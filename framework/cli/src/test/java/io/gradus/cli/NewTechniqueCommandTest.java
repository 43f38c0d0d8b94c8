package io.gradus.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("gradus new-technique's names")
class NewTechniqueCommandTest {

    /** The command with {@code --name name} and the default group id, without running it. */
    private static NewTechniqueCommand named(String name) {
        NewTechniqueCommand command = new NewTechniqueCommand();
        command.name = name;
        command.groupId = "com.example";
        return command;
    }

    @Test
    @DisplayName("a technique name with '-' becomes a Java package without it and classes in CamelCase")
    void javaNames() {
        assertThat(named("mlp-only").packageName()).isEqualTo("com.example.mlponly");
        assertThat(named("mlp-only").className()).isEqualTo("MlpOnly");
        assertThat(named("mytuner").packageName()).isEqualTo("com.example.mytuner");
        assertThat(named("mytuner").className()).isEqualTo("Mytuner");
        assertThat(named("a--b2").className()).isEqualTo("AB2");
    }
}
