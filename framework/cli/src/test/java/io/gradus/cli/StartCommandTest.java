package io.gradus.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("gradus start's warning about an exposed console")
class StartCommandTest {

    @Test
    @DisplayName("takes loopback addresses and localhost as private, every other address as exposed")
    void loopback() {
        assertThat(StartCommand.loopback("127.0.0.1")).isTrue();
        assertThat(StartCommand.loopback("127.8.9.10")).isTrue();
        assertThat(StartCommand.loopback("::1")).isTrue();
        assertThat(StartCommand.loopback("localhost")).isTrue();
        assertThat(StartCommand.loopback("0.0.0.0")).isFalse();
        assertThat(StartCommand.loopback("192.168.1.5")).isFalse();
        assertThat(StartCommand.loopback("::")).isFalse();
    }
}
