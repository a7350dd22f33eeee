//! Delivery in real time: the bus (numbering, history, fan-out across nodes), the hub (this
//! node's subscribers and their bounded outboxes), presence, and publishing a typed event.

pub mod bus;
pub mod frame;
pub mod hub;
pub mod presence;
pub mod publish;

pub use publish::publish;
