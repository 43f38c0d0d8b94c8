package io.gradus.console.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Which {@code Host} headers name this console, so that a page from another site whose domain
 * resolves to this machine (DNS rebinding) is refused before it reads anything.
 *
 * <p>Accepted, always with the console's port: the bound address; when bound to a loopback
 * address, {@code localhost} and the loopback literals; when bound to every interface, any IP
 * literal (a literal cannot be rebound) and this machine's own names.
 */
final class HostCheck {

    private final Set<String> names = new HashSet<>();
    private final boolean anyLiteral;
    private final boolean loopback;

    HostCheck(String boundHost) {
        String bound = strip(boundHost.toLowerCase(Locale.ROOT));
        names.add(bound);
        boolean wildcard = bound.equals("0.0.0.0") || bound.equals("::") || bound.equals("0:0:0:0:0:0:0:0");
        this.loopback = isLoopback(bound);
        this.anyLiteral = wildcard;
        if (loopback || wildcard) {
            names.addAll(Set.of("localhost", "127.0.0.1", "::1"));
        }
        if (wildcard) {
            try {
                InetAddress self = InetAddress.getLocalHost();
                names.add(self.getHostName().toLowerCase(Locale.ROOT));
                names.add(self.getCanonicalHostName().toLowerCase(Locale.ROOT));
            } catch (UnknownHostException e) {
                // No name for this machine: its IP literals still work.
            }
        }
    }

    /** Whether the console is reachable from this machine only. */
    boolean loopback() {
        return loopback;
    }

    /**
     * @param host the host the request names (its Host header, or HTTP/2's :authority)
     * @param givenPort the port it names, or a negative number when it names none (then 80)
     * @param port the port the request came in on
     */
    boolean accepts(String host, int givenPort, int port) {
        if (host == null || host.isBlank()) {
            return false;
        }
        String name = strip(host.trim().toLowerCase(Locale.ROOT));
        return (givenPort < 0 ? 80 : givenPort) == port && (names.contains(name) || anyLiteral && isLiteral(name));
    }

    private static String strip(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1") || host.equals("0:0:0:0:0:0:0:1");
    }

    /** An IPv4 dotted quad or an IPv6 literal: names no DNS answer can move elsewhere. */
    static boolean isLiteral(String name) {
        return name.matches("\\d{1,3}(\\.\\d{1,3}){3}") || name.contains(":") && name.matches("[0-9a-f:.]+");
    }
}
