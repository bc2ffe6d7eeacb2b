//! A tiny llama-architecture model in GGUF v3, written from a seed: random F32 weights, a
//! SentencePiece vocabulary of control tokens, the 256 byte-fallback tokens and printable
//! ASCII, and a ChatML chat template. Tests load and decode it with the real llama.cpp
//! code paths, on small data and without downloading a model.
//!
//! Its output is noise, but deterministic noise: the same seed and sampling seed give the
//! same text, which is what the tests check.

use std::io;
use std::path::Path;

/// The ChatML template the model carries (`tokenizer.chat_template`).
pub const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// What to write.
#[derive(Clone, Debug)]
pub struct TinyModel {
    /// Seeds the weights.
    pub seed: u64,
    /// `llama.context_length`: the training context, the engine's default context size.
    pub context_length: u32,
    /// `tokenizer.chat_template`; `None` leaves it out (the engine falls back to ChatML).
    pub chat_template: Option<String>,
    /// `llama.embedding_length`: the width of the hidden state (and of an embedding).
    pub embedding_length: u32,
    /// `llama.feed_forward_length`.
    pub feed_forward_length: u32,
    /// `llama.block_count`: transformer layers.
    pub layers: u32,
    /// `llama.attention.head_count` (and `head_count_kv`); divides `embedding_length`.
    pub heads: u32,
}

impl Default for TinyModel {
    fn default() -> Self {
        TinyModel {
            seed: 7,
            context_length: 256,
            chat_template: Some(CHATML.to_owned()),
            embedding_length: 64,
            feed_forward_length: 128,
            layers: 2,
            heads: 4,
        }
    }
}

impl TinyModel {
    /// A model large enough (4 layers of width 256, a 2,048-token context) that a prompt of
    /// ~1,750 tokens takes seconds on one thread: for tests of deadlines and cancellation.
    pub fn slow() -> Self {
        TinyModel {
            context_length: 2048,
            embedding_length: 256,
            feed_forward_length: 512,
            layers: 4,
            ..TinyModel::default()
        }
    }
}

const ALIGNMENT: usize = 32;

/// GGUF metadata value types.
const U32: u32 = 4;
const I32: u32 = 5;
const F32: u32 = 6;
const STRING: u32 = 8;
const ARRAY: u32 = 9;

impl TinyModel {
    /// Writes the model to `path`.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, self.to_bytes())
    }

    /// The whole file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (tokens, scores, types) = vocabulary();
        let embed = u64::from(self.embedding_length);
        let feed_forward = u64::from(self.feed_forward_length);
        let heads = self.heads.max(1);
        let vocab = tokens.len() as u64;
        let mut kv = Vec::new();
        let mut count = 0u64;
        let mut put = |key: &str, kind: u32, value: &[u8]| {
            string(&mut kv, key);
            kv.extend_from_slice(&kind.to_le_bytes());
            kv.extend_from_slice(value);
            count += 1;
        };
        let mut s = Vec::new();
        string(&mut s, "llama");
        put("general.architecture", STRING, &s);
        put(
            "llama.context_length",
            U32,
            &self.context_length.to_le_bytes(),
        );
        put(
            "llama.embedding_length",
            U32,
            &self.embedding_length.to_le_bytes(),
        );
        put("llama.block_count", U32, &self.layers.to_le_bytes());
        put(
            "llama.feed_forward_length",
            U32,
            &self.feed_forward_length.to_le_bytes(),
        );
        put("llama.attention.head_count", U32, &heads.to_le_bytes());
        put("llama.attention.head_count_kv", U32, &heads.to_le_bytes());
        put(
            "llama.attention.layer_norm_rms_epsilon",
            F32,
            &1e-5f32.to_le_bytes(),
        );
        put(
            "llama.rope.dimension_count",
            U32,
            &(self.embedding_length / heads).to_le_bytes(),
        );
        let mut s = Vec::new();
        string(&mut s, "llama");
        put("tokenizer.ggml.model", STRING, &s);
        let mut array = Vec::new();
        array.extend_from_slice(&STRING.to_le_bytes());
        array.extend_from_slice(&vocab.to_le_bytes());
        for token in &tokens {
            string(&mut array, token);
        }
        put("tokenizer.ggml.tokens", ARRAY, &array);
        let mut array = Vec::new();
        array.extend_from_slice(&F32.to_le_bytes());
        array.extend_from_slice(&vocab.to_le_bytes());
        for score in &scores {
            array.extend_from_slice(&score.to_le_bytes());
        }
        put("tokenizer.ggml.scores", ARRAY, &array);
        let mut array = Vec::new();
        array.extend_from_slice(&I32.to_le_bytes());
        array.extend_from_slice(&vocab.to_le_bytes());
        for kind in &types {
            array.extend_from_slice(&kind.to_le_bytes());
        }
        put("tokenizer.ggml.token_type", ARRAY, &array);
        put("tokenizer.ggml.unknown_token_id", U32, &0u32.to_le_bytes());
        put("tokenizer.ggml.bos_token_id", U32, &1u32.to_le_bytes());
        put("tokenizer.ggml.eos_token_id", U32, &IM_END.to_le_bytes());
        if let Some(template) = &self.chat_template {
            let mut s = Vec::new();
            string(&mut s, template);
            put("tokenizer.chat_template", STRING, &s);
        }

        let mut shapes: Vec<(String, Vec<u64>)> = vec![
            ("token_embd.weight".into(), vec![embed, vocab]),
            ("output_norm.weight".into(), vec![embed]),
            ("output.weight".into(), vec![embed, vocab]),
        ];
        for layer in 0..self.layers {
            let name = |part: &str| format!("blk.{layer}.{part}.weight");
            shapes.push((name("attn_norm"), vec![embed]));
            shapes.push((name("attn_q"), vec![embed, embed]));
            shapes.push((name("attn_k"), vec![embed, embed]));
            shapes.push((name("attn_v"), vec![embed, embed]));
            shapes.push((name("attn_output"), vec![embed, embed]));
            shapes.push((name("ffn_norm"), vec![embed]));
            shapes.push((name("ffn_gate"), vec![embed, feed_forward]));
            shapes.push((name("ffn_up"), vec![embed, feed_forward]));
            shapes.push((name("ffn_down"), vec![feed_forward, embed]));
        }

        let mut infos = Vec::new();
        let mut data = Vec::new();
        let mut random = XorShift(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        for (name, dims) in &shapes {
            string(&mut infos, name);
            infos.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for dim in dims {
                infos.extend_from_slice(&dim.to_le_bytes());
            }
            infos.extend_from_slice(&0u32.to_le_bytes()); // GGML_TYPE_F32
            infos.extend_from_slice(&(data.len() as u64).to_le_bytes());
            let values: u64 = dims.iter().product();
            let norm = dims.len() == 1;
            for _ in 0..values {
                let value = if norm { 1.0 } else { random.weight() };
                data.extend_from_slice(&value.to_le_bytes());
            }
            pad(&mut data);
        }

        let mut file = Vec::new();
        file.extend_from_slice(b"GGUF");
        file.extend_from_slice(&3u32.to_le_bytes());
        file.extend_from_slice(&(shapes.len() as u64).to_le_bytes());
        file.extend_from_slice(&count.to_le_bytes());
        file.extend_from_slice(&kv);
        file.extend_from_slice(&infos);
        pad(&mut file);
        file.extend_from_slice(&data);
        file
    }
}

/// `<|im_end|>`: ChatML's end of turn, the model's end-of-generation token.
const IM_END: u32 = 4;

/// Tokens, scores and types: control tokens, 256 bytes `<0x00>`..`<0xFF>` (type 6), then
/// printable ASCII with `▁` for the space (type 1).
fn vocabulary() -> (Vec<String>, Vec<f32>, Vec<i32>) {
    let mut tokens: Vec<String> = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    let mut types = vec![2, 3, 3, 3, 3];
    for byte in 0..=255u8 {
        tokens.push(format!("<0x{byte:02X}>"));
        types.push(6);
    }
    tokens.push("\u{2581}".to_owned());
    types.push(1);
    for c in b'!'..=b'~' {
        tokens.push((c as char).to_string());
        types.push(1);
    }
    let scores = (0..tokens.len()).map(|i| -(i as f32)).collect();
    (tokens, scores, types)
}

fn string(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn pad(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(ALIGNMENT) {
        out.push(0);
    }
}

/// xorshift64*: the same weights for the same seed on every machine.
struct XorShift(u64);

impl XorShift {
    /// Uniform in [-0.25, 0.25).
    fn weight(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        (bits as f32 / (1u64 << 24) as f32 - 0.5) * 0.5
    }
}
