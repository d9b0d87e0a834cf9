package io.sectorcrypt.queue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;
import org.HdrHistogram.ValueRecorder;

/**
 * Request latency, acceptance to completion, in nanoseconds. Every thread that completes
 * requests records into a {@link SingleWriterRecorder} of its own (workers hold theirs;
 * other threads get one on first use), so recording is wait-free and touches no line another
 * core writes. {@link #snapshot()} swaps each recorder's interval histogram out and adds it
 * to a running total, so it can be read at any time while the queue runs.
 */
final class LatencyRecording {
    /** Three significant digits: p99.9 of a few microseconds is still resolved to nanoseconds. */
    private static final int DIGITS = 3;

    private final List<SingleWriterRecorder> recorders = new CopyOnWriteArrayList<>();
    private final ThreadLocal<SingleWriterRecorder> perThread = ThreadLocal.withInitial(this::newRecorder);
    private final Histogram total = new Histogram(DIGITS);

    SingleWriterRecorder newRecorder() {
        SingleWriterRecorder recorder = new SingleWriterRecorder(DIGITS);
        recorders.add(recorder);
        return recorder;
    }

    /** The recorder of a thread that is not a worker of this queue. */
    ValueRecorder forCallingThread() {
        return perThread.get();
    }

    /** Everything recorded so far, as a copy the caller owns. */
    synchronized Histogram snapshot() {
        for (SingleWriterRecorder recorder : recorders) {
            total.add(recorder.getIntervalHistogram());
        }
        return total.copy();
    }
}
