#![no_main]
//! See upres_tests::fuzz_checks::decode_and_prepare for what holds for every input.

libfuzzer_sys::fuzz_target!(|data: &[u8]| upres_tests::fuzz_checks::decode_and_prepare(data));
