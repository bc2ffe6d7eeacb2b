#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| onellm_fuzz_harness::openai_chunk(data));
