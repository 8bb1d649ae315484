/*
 * workload.h: a deterministic stream of Cilium kvstore events for the
 * benchmarks (bench/store_bench.c feeds it to the store, bench/writer.py
 * writes it into etcd).  The shape follows tests/sim/cilium-sim: pods
 * starting and stopping on nodes, their ipcache entries on a small pool of
 * addresses per node (so addresses change hands and most events touch
 * keys that exist already), identity allocation (master id/<N>, slave
 * value/<labels>/<nodeIP>, lock keys around it) and GC, node re-puts,
 * service updates, a heartbeat every simulated minute, lease-only re-puts
 * and, rarely, an agent crash (one DELETE burst in one revision).
 */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct workload;

/* A new generator; rev is the etcd revision of its first event, t0_us the
 * time of that revision, step_us the time between revisions. */
struct workload *workload_new(
    uint64_t seed, int64_t rev, int64_t t0_us, int64_t step_us);
void workload_free(struct workload *w);

/*
 * Generate the events of the next revisions into ev[0..max), at least one
 * whole revision; a revision is never split.  Keys and values point into
 * memory owned by w, valid until the next workload_chunk() call.  Returns
 * the number of events.  time_us[i] is the time of ev[i]'s revision.
 */
size_t workload_chunk(
    struct workload *w, struct store_event *ev, int64_t *time_us, size_t max);

#endif
