package dev.latchkey.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A {@link ScheduledExecutorService} that runs nothing by itself: tests see what was scheduled
 * and run the periodic tasks when they choose ({@link #runPeriodicTasks()}). Only what a store
 * uses is supported. Not thread-safe: one test thread.
 */
final class ManualScheduler extends AbstractExecutorService implements ScheduledExecutorService {
    private final List<Task> tasks = new ArrayList<>();
    private boolean shutdown;

    /** One scheduled periodic task. */
    static final class Task implements ScheduledFuture<Object> {
        final Runnable command;
        final Duration initialDelay;
        final Duration period;
        final boolean fixedDelay;
        private boolean cancelled;

        private Task(Runnable command, Duration initialDelay, Duration period,
                boolean fixedDelay) {
            this.command = command;
            this.initialDelay = initialDelay;
            this.period = period;
            this.fixedDelay = fixedDelay;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(initialDelay);
        }

        @Override
        public int compareTo(Delayed other) {
            return Long.compare(getDelay(TimeUnit.NANOSECONDS),
                    other.getDelay(TimeUnit.NANOSECONDS));
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean was = cancelled;
            cancelled = true;
            return !was;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public boolean isDone() {
            return cancelled;
        }

        @Override
        public Object get() {
            throw new UnsupportedOperationException("a periodic task has no result");
        }

        @Override
        public Object get(long timeout, TimeUnit unit) {
            throw new UnsupportedOperationException("a periodic task has no result");
        }
    }

    /** Every periodic task scheduled so far, cancelled ones included. */
    List<Task> tasks() {
        return List.copyOf(tasks);
    }

    /** Runs each periodic task that is not cancelled once, as its next period would. */
    int runPeriodicTasks() {
        int ran = 0;
        for (Task task : List.copyOf(tasks)) {
            if (!task.cancelled) {
                task.command.run(); // an exception here would end a real periodic task
                ran++;
            }
        }
        return ran;
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay,
            long delay, TimeUnit unit) {
        return add(new Task(command, Duration.of(initialDelay, unit.toChronoUnit()),
                Duration.of(delay, unit.toChronoUnit()), true));
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay,
            long period, TimeUnit unit) {
        return add(new Task(command, Duration.of(initialDelay, unit.toChronoUnit()),
                Duration.of(period, unit.toChronoUnit()), false));
    }

    private Task add(Task task) {
        if (shutdown) {
            throw new java.util.concurrent.RejectedExecutionException("shut down");
        }
        tasks.add(task);
        return task;
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        throw new UnsupportedOperationException("one-shot tasks are not used by the store");
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        throw new UnsupportedOperationException("one-shot tasks are not used by the store");
    }

    @Override
    public void execute(Runnable command) {
        throw new UnsupportedOperationException("immediate tasks are not used by the store");
    }

    @Override
    public void shutdown() {
        shutdown = true;
    }

    @Override
    public List<Runnable> shutdownNow() {
        shutdown = true;
        return List.of();
    }

    @Override
    public boolean isShutdown() {
        return shutdown;
    }

    @Override
    public boolean isTerminated() {
        return shutdown;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        return shutdown;
    }
}
