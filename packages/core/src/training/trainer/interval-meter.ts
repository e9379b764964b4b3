/**
 * The running sums of one log interval: step losses, gradient norms and (with `finiteCheck: "device"`) the
 * steps skipped on the device, kept as device scalars so that a step reads nothing back; read once per
 * interval (and per checkpoint) in one transfer.
 */
import { tf } from "../../tf.js";
import type { TrainerState } from "./trainer-checkpoint.js";

/** The sums of an interval, read back to the host. */
export interface IntervalSums {
  /** Sum of the losses of the steps counted. */
  loss: number;
  /** Sum of their gradient norms. */
  norm: number;
  /** Steps skipped on the device since the last read (always 0 unless `finiteCheck: "device"`). */
  bad: number;
}

/** Running sums of the log interval in progress (see {@link IntervalSums}). */
export class IntervalMeter {
  /** Steps counted since the interval began (with `finiteCheck: "device"`, bad ones too until read). */
  count = 0;
  /** Items (examples) in those steps. */
  items = 0;
  /** `performance.now()` when the interval began. */
  start = performance.now();
  private loss: tf.Scalar | undefined;
  private norm: tf.Scalar | undefined;
  private bad: tf.Scalar | undefined;

  /** Counts a step whose loss and norm were checked finite on the host (or not checked at all). */
  add(loss: tf.Scalar, norm: tf.Scalar, items: number): void {
    this.ensure();
    const [l, n] = [tf.add(this.loss!, loss) as tf.Scalar, tf.add(this.norm!, norm) as tf.Scalar];
    tf.dispose([this.loss, this.norm]);
    [this.loss, this.norm] = [l, n];
    this.count++;
    this.items += items;
  }

  /** Counts a step guarded on the device: loss and norm where `ok`, else one more bad step. */
  addGuarded(ok: tf.Tensor, loss: tf.Scalar, norm: tf.Scalar, items: number): void {
    this.ensure();
    const [l, n, b] = tf.tidy(() => {
      const zero = tf.scalar(0);
      return [
        tf.add(this.loss!, tf.where(ok, loss, zero)) as tf.Scalar,
        tf.add(this.norm!, tf.where(ok, norm, zero)) as tf.Scalar,
        tf.add(this.bad!, tf.cast(tf.logicalNot(ok), "float32")) as tf.Scalar,
      ];
    });
    tf.dispose([this.loss, this.norm, this.bad]);
    [this.loss, this.norm, this.bad] = [l, n, b];
    this.count++;
    this.items += items;
  }

  /** Reads the three sums in one transfer and starts the bad-step count over (those steps are accounted now). */
  async read(): Promise<IntervalSums> {
    this.ensure();
    const both = tf.stack([this.loss!, this.norm!, this.bad!]);
    const [loss, norm, bad] = Array.from(await both.data());
    both.dispose();
    this.bad!.dispose();
    this.bad = tf.scalar(0);
    return { loss: loss!, norm: norm!, bad: bad! };
  }

  /** Takes `bad` steps skipped on the device out of the count (the sums never held them). */
  dropSkipped(bad: number): void {
    this.count -= Math.max(0, bad);
  }

  /** Starts a new interval at `now`. */
  reset(now: number): void {
    tf.dispose([this.loss, this.norm, this.bad]);
    this.loss = this.norm = this.bad = undefined;
    this.ensure();
    this.count = 0;
    this.items = 0;
    this.start = now;
  }

  /** What a checkpoint saves of the interval, given sums just read (over good steps only). */
  saved(sums: IntervalSums): TrainerState["pendingLoss"] {
    return { sum: sums.loss, normSum: sums.norm, count: this.count, items: this.items };
  }

  /** Continues the interval a checkpoint saved. */
  restore(p: TrainerState["pendingLoss"]): void {
    tf.dispose([this.loss, this.norm, this.bad]);
    this.loss = tf.scalar(p.sum);
    this.norm = tf.scalar(p.normSum);
    this.bad = tf.scalar(0); // the saved sums are over good steps only
    this.count = p.count;
    this.items = p.items;
  }

  /** Frees the device scalars (they are made again on the next use). */
  dispose(): void {
    tf.dispose([this.loss, this.norm, this.bad]);
    this.loss = this.norm = this.bad = undefined;
  }

  /** Makes the zero sums where missing (not inside a `tf.tidy`, so they outlive it). */
  ensure(): void {
    this.loss ??= tf.scalar(0);
    this.norm ??= tf.scalar(0);
    this.bad ??= tf.scalar(0);
  }
}
