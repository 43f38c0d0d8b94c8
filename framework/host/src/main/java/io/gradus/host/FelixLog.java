package io.gradus.host;

import java.util.function.BiConsumer;
import org.apache.felix.framework.Logger;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;

/**
 * Felix's own log, routed away from standard output (which belongs to commands such as
 * {@code gradus forward}, whose output is JSON): errors and warnings become problems, reported with
 * the bundle they concern.
 */
final class FelixLog extends Logger {

    private final BiConsumer<Bundle, String> problems;

    /** @param problems receives the bundle concerned ({@code null} if none) and message of each error or warning */
    FelixLog(BiConsumer<Bundle, String> problems) {
        this.problems = problems;
        setLogLevel(LOG_WARNING);
    }

    @Override
    protected void doLog(Bundle bundle, ServiceReference sr, int level, String message, Throwable throwable) {
        String detail = throwable == null || throwable.getMessage() == null ? "" : ": " + throwable.getMessage();
        problems.accept(bundle, message + detail);
    }
}
