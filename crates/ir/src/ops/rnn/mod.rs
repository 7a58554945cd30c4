//! Recurrent ops: RNN, GRU, LSTM, sharing attributes, layouts and the sequence driver in
//! `common`.

pub mod common;
pub mod gru;
pub mod lstm;
#[allow(clippy::module_inception)]
pub mod rnn;

use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    r.register("", "RNN", rnn::build);
    r.register("", "GRU", gru::build);
    r.register("", "LSTM", lstm::build);
}
