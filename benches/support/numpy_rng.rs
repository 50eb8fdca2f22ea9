//! numpy's `np.random.default_rng(seed).integers(low, high, size)`, bit for bit, so the
//! `histogram` workload picks the same image blocks as `dask_anchor.py`.
//!
//! Three pieces of numpy, each reproduced from its published algorithm:
//! - `SeedSequence(seed).generate_state(4, uint64)`: O'Neill's seed_seq hash mixing of the
//!   entropy into a pool of four 32-bit words, then the pool hashed out into 8 words;
//! - `PCG64` (PCG XSL-RR 128/64) seeded with those words, and its `next_uint32`, which
//!   splits one 64-bit output into two 32-bit ones (low half first);
//! - `Generator.integers` for `int64` with a range below 2^32: Lemire's bounded
//!   multiply-shift with rejection, on 32-bit draws.
//!
//! Checked against values printed by numpy in `tests/numpy_rng.rs`.

const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;
const POOL_SIZE: usize = 4;

fn hashmix(value: u32, hash_const: &mut u32) -> u32 {
    let mut value = value ^ *hash_const;
    *hash_const = hash_const.wrapping_mul(MULT_A);
    value = value.wrapping_mul(*hash_const);
    value ^ (value >> XSHIFT)
}

fn mix(x: u32, y: u32) -> u32 {
    let result = MIX_MULT_L
        .wrapping_mul(x)
        .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    result ^ (result >> XSHIFT)
}

/// `np.random.SeedSequence(seed).generate_state(n_words, np.uint64)`.
pub fn seed_sequence_u64(seed: u64, n_words: usize) -> Vec<u64> {
    // The entropy as little-endian 32-bit words; 0 is one zero word.
    let mut entropy = vec![seed as u32];
    if seed >> 32 != 0 {
        entropy.push((seed >> 32) as u32);
    }
    let mut pool = [0u32; POOL_SIZE];
    let mut hash_const = INIT_A;
    for (i, slot) in pool.iter_mut().enumerate() {
        *slot = hashmix(entropy.get(i).copied().unwrap_or(0), &mut hash_const);
    }
    for i_src in 0..POOL_SIZE {
        for i_dst in 0..POOL_SIZE {
            if i_src != i_dst {
                let h = hashmix(pool[i_src], &mut hash_const);
                pool[i_dst] = mix(pool[i_dst], h);
            }
        }
    }
    for &word in entropy.iter().skip(POOL_SIZE) {
        for slot in pool.iter_mut() {
            let h = hashmix(word, &mut hash_const);
            *slot = mix(*slot, h);
        }
    }
    let mut hash_const = INIT_B;
    let words: Vec<u32> = (0..2 * n_words)
        .map(|i| {
            let mut v = pool[i % POOL_SIZE] ^ hash_const;
            hash_const = hash_const.wrapping_mul(MULT_B);
            v = v.wrapping_mul(hash_const);
            v ^ (v >> XSHIFT)
        })
        .collect();
    words
        .chunks_exact(2)
        .map(|pair| u64::from(pair[0]) | (u64::from(pair[1]) << 32))
        .collect()
}

const PCG_MULT: u128 = (2_549_297_995_355_413_924u128 << 64) | 4_865_540_595_714_422_341;

/// numpy's `PCG64` bit generator.
pub struct Pcg64 {
    state: u128,
    inc: u128,
    /// The high half of the last 64-bit draw, not yet handed out by `next_u32`.
    pending: Option<u32>,
}

impl Pcg64 {
    /// `np.random.PCG64(seed)` (what `np.random.default_rng(seed)` uses).
    pub fn new(seed: u64) -> Pcg64 {
        let w = seed_sequence_u64(seed, 4);
        let initstate = (u128::from(w[0]) << 64) | u128::from(w[1]);
        let initseq = (u128::from(w[2]) << 64) | u128::from(w[3]);
        let mut rng = Pcg64 {
            state: 0,
            inc: (initseq << 1) | 1,
            pending: None,
        };
        rng.step();
        rng.state = rng.state.wrapping_add(initstate);
        rng.step();
        rng
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let s = self.state;
        let xored = ((s >> 64) as u64) ^ (s as u64);
        xored.rotate_right((s >> 122) as u32)
    }

    /// The next 32 random bits: halves of one 64-bit draw, low half first.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(high) = self.pending.take() {
            return high;
        }
        let v = self.next_u64();
        self.pending = Some((v >> 32) as u32);
        v as u32
    }

    /// `Generator.integers(low, high)` for one `int64` (`high` exclusive), for ranges
    /// below 2^32 (all that the benchmark needs).
    pub fn integer(&mut self, low: i64, high: i64) -> i64 {
        assert!(high > low, "empty range {low}..{high}");
        let rng = (high - 1 - low) as u64;
        assert!(rng < u64::from(u32::MAX), "range too large for this port");
        if rng == 0 {
            return low;
        }
        let rng = rng as u32;
        let rng_excl = rng + 1;
        let mut m = u64::from(self.next_u32()) * u64::from(rng_excl);
        let mut leftover = m as u32;
        if leftover < rng_excl {
            let threshold = (u32::MAX - rng) % rng_excl;
            while leftover < threshold {
                m = u64::from(self.next_u32()) * u64::from(rng_excl);
                leftover = m as u32;
            }
        }
        low + (m >> 32) as i64
    }

    /// `Generator.integers(low, high, size=n)`.
    pub fn integers(&mut self, low: i64, high: i64, n: usize) -> Vec<i64> {
        (0..n).map(|_| self.integer(low, high)).collect()
    }
}
