//! String ops (StringNormalizer, StringConcat, StringSplit, RegexFullMatch) and the simple
//! ai.onnx.ml ops (LabelEncoder, Binarizer, ArrayFeatureExtractor, TreeEnsemble).

pub mod array_feature_extractor;
pub mod binarizer;
pub mod label_encoder;
pub mod ml_common;
pub mod regex;
pub mod regex_full_match;
pub mod string_concat;
pub mod string_normalizer;
pub mod string_split;
pub mod tree_ensemble;

use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    r.register("", "StringNormalizer", string_normalizer::build);
    r.register("", "StringConcat", string_concat::build);
    r.register("", "StringSplit", string_split::build);
    r.register("", "RegexFullMatch", regex_full_match::build);
    r.register("ai.onnx.ml", "LabelEncoder", label_encoder::build);
    r.register("ai.onnx.ml", "Binarizer", binarizer::build);
    r.register(
        "ai.onnx.ml",
        "ArrayFeatureExtractor",
        array_feature_extractor::build,
    );
    r.register("ai.onnx.ml", "TreeEnsemble", tree_ensemble::build);
}
