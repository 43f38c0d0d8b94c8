package io.gradus.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("gradus start's warning about an exposed console")
class StartCommandTest {

    @Test
    @DisplayName("a console address other machines can reach is a warning; loopback addresses and localhost are not")
    void nonLoopbackHostWarns() {
        for (String loopback : new String[] {"127.0.0.1", "127.0.0.2", "127.8.9.10", "localhost", "::1"}) {
            assertThat(StartCommand.addressWarning(loopback)).as(loopback).isEmpty();
        }
        assertThat(StartCommand.addressWarning("0.0.0.0")).hasValueSatisfying(w -> assertThat(w)
                .startsWith("warning: --host 0.0.0.0: the console listens on every network address of this machine,")
                .contains("travels in clear over HTTP"));
        assertThat(StartCommand.addressWarning("::")).hasValueSatisfying(w -> assertThat(w).contains("every network address"));
        // Addresses of the documentation range (RFC 5737) and a private network: not this machine's loopback.
        assertThat(StartCommand.addressWarning("192.0.2.7")).hasValueSatisfying(w -> assertThat(w)
                .startsWith("warning: --host 192.0.2.7: the console listens on 192.0.2.7, reachable from other machines"));
        assertThat(StartCommand.addressWarning("192.168.1.5")).isPresent();
    }
}
