/**
 * Parallel sector I/O: {@link io.sectorcrypt.queue.SectorQueue} carries
 * {@link io.sectorcrypt.queue.SectorRequest}s from any number of threads to worker threads
 * that run them on a {@link io.sectorcrypt.xts.SectorTransform} (an XTS {@link io.sectorcrypt.xts.SectorCipher}, or a chain of layers).
 *
 * <h2>Who writes what (memory layout)</h2>
 * <table>
 *   <caption>Shared memory and its writers</caption>
 *   <tr><th>memory</th><th>written by</th><th>layout</th></tr>
 *   <tr><td>ring producer index</td><td>submitters (CAS)</td>
 *       <td>own cache line, padded by JCTools</td></tr>
 *   <tr><td>ring consumer index</td><td>workers (CAS)</td>
 *       <td>own cache line, padded by JCTools</td></tr>
 *   <tr><td>ring slots and sequence numbers</td><td>both, one slot at a time</td>
 *       <td>arrays; neighbouring slots share lines, as in any array ring</td></tr>
 *   <tr><td>sleeping-worker count and flags</td><td>workers (to sleep), submitters (to wake)</td>
 *       <td>{@link io.sectorcrypt.queue.IdleWorkers}: one per 128 bytes</td></tr>
 *   <tr><td>queue state</td><td>shutdown, twice per life</td><td>unpadded: read-mostly</td></tr>
 *   <tr><td>counters</td><td>everyone</td><td>{@link io.sectorcrypt.queue.StripedCounter}: a 128-byte cell per thread</td></tr>
 *   <tr><td>latency recorders</td><td>one thread each</td><td>a {@code SingleWriterRecorder} per thread</td></tr>
 *   <tr><td>a request's fields</td><td>its owner, then the queue</td>
 *       <td>one object; striped requests share their claim counters on purpose</td></tr>
 * </table>
 *
 * <h2>Ordering</h2>
 * <ol>
 *   <li>Publication: the owner's plain writes to a request, then the submitter's plain writes of
 *       the submission state, happen before the ring's release store of the slot sequence; a
 *       worker's {@code poll} reads that sequence with acquire before it reads the request.</li>
 *   <li>Completion: the thread that completes a request releases it (release store) before
 *       telling the callback, after reading everything it needs; the owner may refill it from
 *       that moment. Submitters read every field they need before the first ring offer.</li>
 *   <li>Striped requests: stripes are claimed by {@code getAndAdd}; finishing is counted down
 *       by {@code getAndAdd} from stripes + tickets, so a request is complete only when no
 *       ring entry refers to it any more ({@link io.sectorcrypt.queue.RequestRunner}).</li>
 *   <li>Sleep and wake-up: a Dekker-style pair of volatile accesses on each side
 *       ({@link io.sectorcrypt.queue.IdleWorkers}).</li>
 *   <li>Shutdown: count the attempt, read the state, publish, read the state again; a
 *       submitter that sees the shutdown only after publishing drains the ring itself
 *       ({@link io.sectorcrypt.queue.SectorQueue}).</li>
 * </ol>
 */
package io.sectorcrypt.queue;
