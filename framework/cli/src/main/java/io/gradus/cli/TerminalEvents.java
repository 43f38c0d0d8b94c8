package io.gradus.cli;

import io.gradus.api.event.BundleChanged;
import io.gradus.api.event.GradusEvent;
import io.gradus.api.event.Problem;
import io.gradus.api.event.TechniqueChanged;
import java.io.PrintStream;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Set;
import java.util.function.Consumer;

/** Prints the events an operator cares about, one line each, while the host runs. */
final class TerminalEvents implements Consumer<GradusEvent> {

    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");
    /** Bundle changes worth a line; the intermediate ones (RESOLVED, STARTING...) are noise here. */
    private static final Set<String> SHOWN_CHANGES = Set.of("INSTALLED", "STARTED", "STOPPED", "UPDATED", "UNINSTALLED");

    private final PrintStream out;
    private volatile boolean quietBundles = true;

    TerminalEvents(PrintStream out) {
        this.out = out;
    }

    /** Prints bundle and technique changes too, or (false) only problems: during boot and shutdown. */
    void showBundleChanges(boolean show) {
        quietBundles = !show;
    }

    @Override
    public void accept(GradusEvent event) {
        String line = switch (event) {
            case Problem p -> "PROBLEM " + p.source() + ": " + p.message();
            case TechniqueChanged t when !quietBundles -> t.family() + " '" + t.name() + "' " + t.version() + " "
                    + t.change().toLowerCase() + " (bundle " + t.bundleId() + ")";
            case BundleChanged b when !quietBundles && SHOWN_CHANGES.contains(b.change()) -> "bundle "
                    + b.symbolicName() + " " + b.version() + " [" + b.bundleId() + "] " + b.change().toLowerCase();
            default -> null;
        };
        if (line != null) {
            out.println(CLOCK.format(LocalTime.ofInstant(event.time(), ZoneId.systemDefault())) + " " + line);
        }
    }
}
