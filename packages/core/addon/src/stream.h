// The launch queue: kernels that the JavaScript thread launches run in order on one executor thread (which
// drives the thread pool), so that JavaScript builds the next kernels of a step while the current ones compute.
// TF.js's engine and tape cost tens of microseconds a kernel on the JavaScript thread; in order execution hides
// them behind the products. Anything that reads or writes a kernel's buffers from another thread (a read back to
// JavaScript, a kernel that computes on the JavaScript thread) calls `synchronize()` first.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace birdvlm {

/**
 * Queues `kernel` behind every earlier launch and returns its sequence number (1, 2, ...). `kernel` must own
 * everything it reads besides the buffers its caller keeps alive until it ran. Every kernel runs on the executor,
 * which is the thread pool's caller; with the queue off (`async_launches()` false) the entry points wait for each.
 */
uint64_t launch(std::function<void()> kernel);

/**
 * Waits until every launched kernel has run, taking tasks of the executor's pool jobs meanwhile. Returns the
 * message of a kernel that threw since the last call, or "".
 */
std::string synchronize();

/** Sequence number of the last kernel that has run (launches are numbered from 1). */
uint64_t launches_completed();

/** Whether the entry points return before their kernels ran (true unless `BIRDVLM_ASYNC=0` or `set_async(false)`). */
bool async_launches();

/** Turns the queue on or off, after running what is queued. */
void set_async(bool on);

/** Runs what is queued and stops the executor (at environment teardown). */
void shutdown_stream();

}  // namespace birdvlm
