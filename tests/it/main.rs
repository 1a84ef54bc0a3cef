//! keyless's integration tests: one test binary (one link of the SDK), a module per area.
//! Every test that needs AWS talks to the test kit's in-process IAM/STS through the real SDK.

mod accounts;
mod apply;
mod audit;
mod check;
mod claim_keys;
mod cli;
mod contract;
mod differential;
mod export;
mod faults;
mod fuzz;
mod github;
mod guard;
mod hostile;
mod iam_data;
mod import;
mod init;
mod kit;
mod layers;
mod messages;
mod ops;
mod output;
mod ownership;
mod paths;
mod proxy;
mod races;
mod reads;
mod release;
mod review;
mod secrets;
mod shared;
mod trust;
mod util;
mod verify;
mod workflows;
