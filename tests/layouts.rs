//! Non-contiguous views (transposed, strided) give bit-for-bit the results of
//! contiguous input: outputs, gradients and errors. Needs no libtorch.

use proptest::prelude::*;

use lossparity::backend::{Backend, MemoryLayout, RustBackend};
use lossparity::compare::{compare, Mode};
use lossparity::strategies::any_case;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1500),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/layouts.txt"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn transposed_and_strided_views_match_contiguous_bit_for_bit(case in any_case()) {
        let contiguous = RustBackend::default().evaluate(&case);
        for layout in [MemoryLayout::Transposed, MemoryLayout::Strided] {
            let other = RustBackend::with_layout(layout).evaluate(&case);
            if let Err(d) = compare(&contiguous, &other, Mode::Exact) {
                prop_assert!(false, "{layout:?} differs from contiguous: {d}\ncase: {}", case.to_json());
            }
        }
    }
}
