/**
 * Binary-mask operations on plain typed arrays (1 = set): connected components, hole filling, erosion, box means.
 * Hand-written: they are short breadth-first searches and running sums, and no maintained npm library offers them
 * on raw masks without pulling in OpenCV-sized WASM.
 */

export type Mask = Uint8Array;

/** Labels 4-connected components of `mask`; returns labels (0 = unset) and each label's area (index = label). */
export function components(mask: Mask, width: number, height: number): { labels: Int32Array; areas: number[] } {
  const n = width * height;
  const labels = new Int32Array(n);
  const areas = [0];
  const queue = new Int32Array(n);
  let next = 1;
  for (let start = 0; start < n; start++) {
    if (!mask[start] || labels[start]) continue;
    const label = next++;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    labels[start] = label;
    while (head < tail) {
      const p = queue[head++]!;
      const x = p % width;
      if (x > 0 && mask[p - 1] && !labels[p - 1]) (labels[p - 1] = label), (queue[tail++] = p - 1);
      if (x < width - 1 && mask[p + 1] && !labels[p + 1]) (labels[p + 1] = label), (queue[tail++] = p + 1);
      if (p >= width && mask[p - width] && !labels[p - width]) (labels[p - width] = label), (queue[tail++] = p - width);
      if (p < n - width && mask[p + width] && !labels[p + width]) (labels[p + width] = label), (queue[tail++] = p + width);
    }
    areas.push(tail);
  }
  return { labels, areas };
}

/** The largest 4-connected component of `mask` (empty when the mask is). */
export function largestComponent(mask: Mask, width: number, height: number): { mask: Mask; area: number } {
  const { labels, areas } = components(mask, width, height);
  let best = 0;
  for (let label = 1; label < areas.length; label++) if (areas[label]! > areas[best]!) best = label;
  const out = new Uint8Array(mask.length);
  if (best === 0) return { mask: out, area: 0 };
  for (let i = 0; i < labels.length; i++) if (labels[i] === best) out[i] = 1;
  return { mask: out, area: areas[best]! };
}

/** Components of `mask` no larger than `maxArea` pixels: small blobs such as specular highlights. */
export function smallBlobs(mask: Mask, width: number, height: number, maxArea: number): Mask {
  const { labels, areas } = components(mask, width, height);
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < labels.length; i++) if (labels[i] && areas[labels[i]!]! <= maxArea) out[i] = 1;
  return out;
}

/** `mask` with every hole filled: unset pixels that cannot reach the image border through unset pixels. */
export function fillHoles(mask: Mask, width: number, height: number): Mask {
  const n = width * height;
  const outside = new Uint8Array(n);
  const queue = new Int32Array(n);
  let tail = 0;
  const seed = (p: number) => {
    if (!mask[p] && !outside[p]) (outside[p] = 1), (queue[tail++] = p);
  };
  for (let x = 0; x < width; x++) seed(x), seed(n - width + x);
  for (let y = 0; y < height; y++) seed(y * width), seed(y * width + width - 1);
  for (let head = 0; head < tail; head++) {
    const p = queue[head]!;
    const x = p % width;
    if (x > 0) seed(p - 1);
    if (x < width - 1) seed(p + 1);
    if (p >= width) seed(p - width);
    if (p < n - width) seed(p + width);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = outside[i] ? 0 : 1;
  return out;
}

/** Erosion by a (2r+1)² square, as a row pass then a column pass of running counts. */
export function erode(mask: Mask, width: number, height: number, radius: number): Mask {
  const rows = new Uint8Array(mask.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let all = 1;
      for (let k = Math.max(0, x - radius), end = Math.min(width - 1, x + radius); k <= end && all; k++) all = mask[row + k]!;
      rows[row + x] = x >= radius && x < width - radius ? all : 0;
    }
  }
  const out = new Uint8Array(mask.length);
  for (let x = 0; x < width; x++) {
    for (let y = radius; y < height - radius; y++) {
      let all = 1;
      for (let k = y - radius; k <= y + radius && all; k++) all = rows[k * width + x]!;
      out[y * width + x] = all;
    }
  }
  return out;
}

/** Mean of `values` over the (2r+1)² box around each pixel (clipped at the border), from an integral image. */
export function boxMean(values: Float32Array, width: number, height: number, radius: number): Float32Array {
  const stride = width + 1;
  const integral = new Float64Array(stride * (height + 1));
  for (let y = 0; y < height; y++) {
    let rowSum = 0;
    for (let x = 0; x < width; x++) {
      rowSum += values[y * width + x]!;
      integral[(y + 1) * stride + x + 1] = integral[y * stride + x + 1]! + rowSum;
    }
  }
  const out = new Float32Array(values.length);
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - radius);
    const y1 = Math.min(height, y + radius + 1);
    for (let x = 0; x < width; x++) {
      const x0 = Math.max(0, x - radius);
      const x1 = Math.min(width, x + radius + 1);
      const sum = integral[y1 * stride + x1]! - integral[y0 * stride + x1]! - integral[y1 * stride + x0]! + integral[y0 * stride + x0]!;
      out[y * width + x] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

export function count(mask: Mask): number {
  let total = 0;
  for (let i = 0; i < mask.length; i++) total += mask[i]!;
  return total;
}
