//! Sequence and optional ops. Sequences are `Value::Sequence(Vec<Tensor>)`, optionals
//! `Value::Optional(Option<Box<Value>>)`.

pub mod common;
pub mod concat_from_sequence;
pub mod optional;
pub mod optional_get_element;
pub mod optional_has_element;
pub mod sequence_at;
pub mod sequence_construct;
pub mod sequence_empty;
pub mod sequence_erase;
pub mod sequence_insert;
pub mod sequence_length;
pub mod sequence_map;
pub mod split_to_sequence;

use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    r.register("", "SequenceEmpty", sequence_empty::build);
    r.register("", "SequenceConstruct", sequence_construct::build);
    r.register("", "SequenceInsert", sequence_insert::build);
    r.register("", "SequenceAt", sequence_at::build);
    r.register("", "SequenceErase", sequence_erase::build);
    r.register("", "SequenceLength", sequence_length::build);
    r.register("", "SplitToSequence", split_to_sequence::build);
    r.register("", "ConcatFromSequence", concat_from_sequence::build);
    r.register("", "SequenceMap", sequence_map::build);
    r.register("", "Optional", optional::build);
    r.register("", "OptionalHasElement", optional_has_element::build);
    r.register("", "OptionalGetElement", optional_get_element::build);
}
