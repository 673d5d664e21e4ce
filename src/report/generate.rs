//! The report's cases: drawn from the conformance tests' strategies
//! ([`crate::strategies`]), each from its own ChaCha stream keyed by `(seed, index)`,
//! so case `i` is the same whether a run is whole or sharded.

use anyhow::{bail, Result};
use proptest::strategy::{SBoxedStrategy, Strategy, Union, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::case::{Case, DType, Op};

/// The ChaCha key of case `index`: the seed (8 bytes, little-endian), the index (8
/// bytes, little-endian), then 16 zero bytes.
pub fn case_key(seed: u64, index: u64) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&index.to_le_bytes());
    key
}

/// Draws the cases of one seed, restricted to some ops and input dtypes.
pub struct CaseGenerator {
    seed: u64,
    dtypes: Vec<DType>,
    strategy: Union<SBoxedStrategy<Case>>,
}

impl CaseGenerator {
    /// A generator over `ops` (each equally likely) and input `dtypes` (float32,
    /// float64; a case of another input dtype is drawn again from the same stream).
    pub fn new(seed: u64, ops: &[Op], dtypes: &[DType]) -> Result<Self> {
        if ops.is_empty() {
            bail!("no ops selected");
        }
        if dtypes.is_empty() {
            bail!("no dtypes selected");
        }
        if let Some(d) = dtypes
            .iter()
            .find(|d| !matches!(d, DType::Float32 | DType::Float64))
        {
            bail!(
                "dtype {} is not generated; the strategies draw float32 and float64 inputs",
                d.name()
            );
        }
        Ok(CaseGenerator {
            seed,
            dtypes: dtypes.to_vec(),
            strategy: Union::new(ops.iter().map(|&op| (op.spec().strategy)())),
        })
    }

    /// Case `index`, with the id `case-<index>`.
    pub fn case(&self, index: u64) -> Case {
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &case_key(self.seed, index));
        let mut runner = TestRunner::new_with_rng(Config::default(), rng);
        // With both dtypes selected the first draw is always kept; with one, a draw
        // is kept with probability 1/2, so this loop ends after a few rounds.
        loop {
            let mut case = self
                .strategy
                .new_tree(&mut runner)
                .expect("the case strategies never reject")
                .current();
            if self.dtypes.contains(&case.input().dtype) {
                case.id = Some(format!("case-{index}"));
                return case;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_depends_only_on_seed_and_index() {
        let generator = CaseGenerator::new(
            7,
            &Op::all().collect::<Vec<_>>(),
            &[DType::Float32, DType::Float64],
        )
        .unwrap();
        let again = CaseGenerator::new(
            7,
            &Op::all().collect::<Vec<_>>(),
            &[DType::Float32, DType::Float64],
        )
        .unwrap();
        for i in [0, 1, 57, 1000] {
            assert_eq!(generator.case(i), again.case(i));
        }
        assert_ne!(generator.case(1).to_json(), generator.case(2).to_json());
    }

    #[test]
    fn filters_keep_only_the_selected_ops_and_dtypes() {
        let generator = CaseGenerator::new(3, &[Op::SOFTMAX], &[DType::Float64]).unwrap();
        for i in 0..50 {
            let case = generator.case(i);
            assert_eq!(case.op, Op::SOFTMAX);
            assert_eq!(case.input().dtype, DType::Float64);
            assert_eq!(case.id.as_deref(), Some(format!("case-{i}").as_str()));
        }
    }
}
