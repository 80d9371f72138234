import { createHash, hash } from 'node:crypto';

/**
 * RFC 6962 (Certificate Transparency) Merkle tree hashing: leaves are SHA-256(0x00 ‖ data), interior nodes
 * SHA-256(0x01 ‖ left ‖ right), and the tree of n leaves splits at the largest power of two below n.
 */
const LEAF_PREFIX = Buffer.from([0]);

// One-shot crypto.hash: verification hashes two values per entry, and a hash object per call cost ~40% more
// (bench/results/audit-2026-11-23T13-34-30.md).
export const leafHash = (data: Buffer | string): Buffer =>
  hash('sha256', typeof data === 'string' ? `\u0000${data}` : Buffer.concat([LEAF_PREFIX, data]), 'buffer');
export const EMPTY_ROOT = createHash('sha256').digest();

/** A node's hash input, 0x01 ‖ left ‖ right, reused: nodes are hashed in place, without assembling a buffer each. */
const NODE_INPUT = Buffer.alloc(65, 1);

export const nodeHash = (left: Buffer, right: Buffer): Buffer => {
  left.copy(NODE_INPUT, 1, 0, 32);
  right.copy(NODE_INPUT, 33, 0, 32);
  return hash('sha256', NODE_INPUT, 'buffer');
};

const HEX_NODE = /^[0-9a-f]{64}$/;

/** An interior node from its children as hex, hashed in the reused input: no buffer per node. */
const hexNodeHash = (left: string, right: string): string => {
  NODE_INPUT.write(left, 1, 32, 'hex');
  NODE_INPUT.write(right, 33, 32, 'hex');
  return hash('sha256', NODE_INPUT, 'hex');
};

/** The sizes of the perfect subtrees of a tree of `size` leaves, largest first (its set bits), as heights. */
const subtreeHeights = (size: number): number[] => {
  const heights: number[] = [];
  for (let height = 0, n = size; n > 0; height += 1, n = Math.floor(n / 2)) if (n % 2 === 1) heights.unshift(height);
  return heights;
};

/**
 * The root of a tree grown leaf by leaf, keeping only the O(log n) roots of its perfect subtrees (a
 * "compact range"). Appending n leaves costs n leaf hashes and about n node hashes. Roots are kept as hex, the
 * form leaf hashes come in (stored, and as a one-shot digest returns them), so a push allocates no buffer.
 */
export class TreeBuilder {
  /** Roots of perfect subtrees, largest first, as hex; their sizes are the set bits of `size`. */
  private stack: string[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(leaf: Buffer): void {
    if (leaf.length !== 32) throw new Error(`a leaf hash is 32 bytes, not ${leaf.length}`);
    this.settle(leaf.toString('hex'), 0);
  }

  /** Pushes a leaf hash as 64 lowercase hex digits, as a one-shot digest returns it (push checks bytes from elsewhere). */
  pushHex(leaf: string): void {
    this.settle(leaf, 0);
  }

  /**
   * Appends `size` leaves by their compact range (one subtree root per set bit of size, largest first, as
   * `frontier()` gives it): what a worker that hashed an aligned range reports. The tree's size must be a
   * multiple of the largest of those subtrees, as it is when ranges start at multiples of a power of two.
   */
  appendRange(size: number, frontier: readonly string[]): void {
    const heights = subtreeHeights(size);
    if (heights.length !== frontier.length || frontier.some((h) => !HEX_NODE.test(h))) throw new Error(`not the compact range of ${size} leaves`);
    if (this.count % 2 ** (heights[0] ?? 0) !== 0) throw new Error(`a range of ${size} leaves is not aligned at ${this.count}`);
    frontier.forEach((node, i) => this.settle(node, heights[i] as number));
  }

  /** Puts the root of a perfect subtree of 2^height leaves on the stack, merged with every one of its size. */
  private settle(node: string, height: number): void {
    let root = node;
    // One merge per trailing 1 bit of size ÷ 2^height.
    for (let pending = this.count / 2 ** height; pending % 2 === 1; pending = (pending - 1) / 2) root = hexNodeHash(this.stack.pop() as string, root);
    this.stack.push(root);
    this.count += 2 ** height;
  }

  /** RFC 6962 MTH of the leaves pushed so far: the perfect subtrees folded right to left. */
  root(): Buffer {
    let root = this.stack[this.stack.length - 1];
    if (root === undefined) return EMPTY_ROOT;
    for (let i = this.stack.length - 2; i >= 0; i -= 1) root = hexNodeHash(this.stack[i] as string, root);
    return Buffer.from(root, 'hex');
  }

  /** The compact range: what a checkpoint stores so a new process resumes the tree without reading every leaf. */
  frontier(): string[] {
    return [...this.stack];
  }

  /** A tree of `size` leaves from its compact range (one root per set bit of size, largest first). */
  static fromFrontier(size: number, frontier: string[]): TreeBuilder | undefined {
    const tree = new TreeBuilder();
    try {
      tree.appendRange(size, frontier);
    } catch {
      return undefined;
    }
    return tree;
  }

  /** A copy to grow further without changing this one. */
  clone(): TreeBuilder {
    const copy = new TreeBuilder();
    copy.stack = [...this.stack];
    copy.count = this.count;
    return copy;
  }
}

const largestPowerOfTwoBelow = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};

/**
 * A tree over known leaves that answers root, inclusion and consistency queries, memoizing the RFC 6962
 * subtree hashes it computes so that many proofs over one tree cost O(n) hashes in all, not O(n) each.
 */
export class LeafTree {
  private readonly memo = new Map<number, Buffer>();
  constructor(private readonly leaves: Buffer[]) {}

  /** MTH of leaves[lo, hi). */
  hash(lo: number, hi: number): Buffer {
    if (hi - lo === 0) return EMPTY_ROOT;
    if (hi - lo === 1) return this.leaves[lo] as Buffer;
    const key = lo * 4_294_967_296 + hi;
    const cached = this.memo.get(key);
    if (cached) return cached;
    const k = largestPowerOfTwoBelow(hi - lo);
    const value = nodeHash(this.hash(lo, lo + k), this.hash(lo + k, hi));
    this.memo.set(key, value);
    return value;
  }

  /** RFC 6962 §2.1.1 audit path of leaf `index` in the tree of the first `size` leaves. */
  inclusion(index: number, size: number = this.leaves.length): Buffer[] {
    const path = (m: number, lo: number, hi: number): Buffer[] => {
      if (hi - lo <= 1) return [];
      const k = largestPowerOfTwoBelow(hi - lo);
      return m < k ? [...path(m, lo, lo + k), this.hash(lo + k, hi)] : [...path(m - k, lo + k, hi), this.hash(lo, lo + k)];
    };
    return path(index, 0, size);
  }

  /** RFC 6962 §2.1.2 consistency proof between the first `m` and the first `size` leaves. */
  consistency(m: number, size: number = this.leaves.length): Buffer[] {
    const sub = (m: number, lo: number, hi: number, complete: boolean): Buffer[] => {
      if (m === hi - lo) return complete ? [] : [this.hash(lo, hi)];
      const k = largestPowerOfTwoBelow(hi - lo);
      return m <= k ? [...sub(m, lo, lo + k, complete), this.hash(lo + k, hi)] : [...sub(m - k, lo + k, hi, false), this.hash(lo, lo + k)];
    };
    return m === 0 || m > size ? [] : sub(m, 0, size, true);
  }
}

/** MTH over leaf hashes (proofs and tests; TreeBuilder is the fast path for a root alone). */
export const rootOf = (leaves: Buffer[]): Buffer => new LeafTree(leaves).hash(0, leaves.length);
export const inclusionProof = (index: number, leaves: Buffer[]): Buffer[] => new LeafTree(leaves).inclusion(index);
export const consistencyProof = (m: number, leaves: Buffer[]): Buffer[] => new LeafTree(leaves).consistency(m);

/** RFC 9162 §2.1.3.2: does `proof` put `leaf` at `index` in a tree of `size` with `root`? */
export const verifyInclusion = (index: number, size: number, leaf: Buffer, proof: Buffer[], root: Buffer): boolean => {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      r = nodeHash(p, r);
      if (!(fn & 1)) {
        while (fn !== 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && r.equals(root);
};

/** RFC 9162 §2.1.4.2: is the tree (size2, root2) an append-only extension of (size1, root1)? */
export const verifyConsistency = (size1: number, size2: number, root1: Buffer, root2: Buffer, proof: Buffer[]): boolean => {
  if (size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && root1.equals(root2);
  if (size1 === 0) return proof.length === 0;
  let path = [...proof];
  if ((size1 & (size1 - 1)) === 0) path = [root1, ...path];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  const [first, ...rest] = path;
  if (!first) return false;
  let fr = first;
  let sr = first;
  for (const c of rest) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!(fn & 1)) {
        while (fn !== 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && fr.equals(root1) && sr.equals(root2);
};
