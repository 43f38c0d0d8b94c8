package io.gradus.console.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Which Host headers name the console")
class HostCheckTest {

    @Test
    @DisplayName("bound to loopback: the address, localhost and the loopback literals, with the console's port only")
    void loopback() {
        HostCheck check = new HostCheck("127.0.0.1");
        assertThat(check.loopback()).isTrue();
        assertThat(check.accepts("127.0.0.1", 8080, 8080)).isTrue();
        assertThat(check.accepts("LOCALHOST", 8080, 8080)).isTrue();
        assertThat(check.accepts("[::1]", 8080, 8080)).isTrue();
        assertThat(check.accepts("localhost", 8081, 8080)).as("another port").isFalse();
        assertThat(check.accepts("localhost", -1, 80)).as("no port means 80").isTrue();
        assertThat(check.accepts("localhost", -1, 8080)).isFalse();
        assertThat(check.accepts("rebound.attacker.example", 8080, 8080)).isFalse();
        assertThat(check.accepts("192.168.1.5", 8080, 8080)).isFalse();
        assertThat(check.accepts("", 8080, 8080)).isFalse();
        assertThat(check.accepts(null, 8080, 8080)).isFalse();
    }

    @Test
    @DisplayName("bound to one address: that address only; bound to every interface: any IP literal, never a foreign name")
    void exposed() {
        HostCheck one = new HostCheck("192.168.1.5");
        assertThat(one.loopback()).isFalse();
        assertThat(one.accepts("192.168.1.5", 8080, 8080)).isTrue();
        assertThat(one.accepts("localhost", 8080, 8080)).isFalse();
        assertThat(one.accepts("10.0.0.1", 8080, 8080)).isFalse();

        HostCheck every = new HostCheck("0.0.0.0");
        assertThat(every.loopback()).isFalse();
        assertThat(every.accepts("10.0.0.1", 8080, 8080)).isTrue();
        assertThat(every.accepts("fe80::1", 8080, 8080)).isTrue();
        assertThat(every.accepts("localhost", 8080, 8080)).isTrue();
        assertThat(every.accepts("rebound.attacker.example", 8080, 8080)).isFalse();
        assertThat(every.accepts("10.0.0.1", 9090, 8080)).isFalse();

        assertThat(new HostCheck("[::1]").loopback()).isTrue();
        assertThat(new HostCheck("localhost").accepts("127.0.0.1", 1, 1)).isTrue();
    }
}
