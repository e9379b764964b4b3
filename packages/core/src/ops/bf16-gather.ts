import { tf } from "../tf.js";
import type { Bf16Weight } from "./bf16-matmul.js";
import { hasFusedKernel, runFusedKernel } from "./fused-kernel.js";

/** Kernel name of {@link bf16Gather} (registered by the `native` backend). */
export const BF16_GATHER_KERNEL = "BirdVLMBf16Gather";

// Reference: PyTorch `torch.nn.functional.embedding` on a bf16 table widened to float32.
/**
 * Rows of a bfloat16 table widened to float32: an embedding lookup `table[ids]` with the table kept as bf16
 * (half the memory). On the `native` backend one kernel (an id out of range is an error naming it); elsewhere
 * (and with fused kernels off), `tf.gather` on a float32 copy of the table made on first use. Inference only
 * (no gradient to the table).
 *
 * @param table `[vocab, D]` bf16.
 * @param ids int32 of any shape `[...]`.
 * @returns `[..., D]` float32.
 */
export function bf16Gather(table: Bf16Weight, ids: tf.Tensor): tf.Tensor {
  const [vocab, dim] = table.shape;
  if (ids.dtype !== "int32") throw new Error(`bf16Gather: ids must be int32, got ${ids.dtype}`);
  return tf.tidy(() => {
    if (hasFusedKernel(BF16_GATHER_KERNEL)) {
      const rows = runFusedKernel(
        BF16_GATHER_KERNEL,
        { w: table.packed, indices: tf.reshape(ids, [-1]) },
        { dim, vocab },
      );
      return tf.reshape(rows, [...ids.shape, dim]);
    }
    return tf.gather(table.float32Copy(), ids);
  });
}
