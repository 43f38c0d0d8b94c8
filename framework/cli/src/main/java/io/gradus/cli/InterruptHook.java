package io.gradus.cli;

import java.io.PrintWriter;

/**
 * What Ctrl-C does while a command follows a job. On a running host the job goes on and the command
 * only detaches from it; on a host embedded in the command, the host stops, and the job writes a
 * checkpoint first, so {@code --resume} continues it.
 */
final class InterruptHook implements AutoCloseable {

    private final Thread hook;

    private InterruptHook(Thread hook) {
        this.hook = hook;
        Runtime.getRuntime().addShutdownHook(hook);
    }

    static InterruptHook install(JobClient jobs, PrintWriter err) {
        return new InterruptHook(new Thread(() -> {
            if (jobs.embedded()) {
                err.println("\ngradus: interrupted; the job writes a checkpoint (continue it with --resume)");
                try {
                    jobs.interrupt();
                } catch (Exception e) {
                    err.println("gradus: stopping the embedded host: " + e.getMessage());
                }
            } else {
                err.println("\ngradus: detached; the job keeps running on " + jobs.where()
                        + " (gradus jobs to list, gradus jobs follow ID to follow)");
            }
            err.flush();
        }, "gradus-interrupt"));
    }

    /** The command ended by itself: Ctrl-C no longer concerns its job. */
    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // The JVM is already shutting down: the hook runs or ran.
        }
    }
}
