//! The people of one organization: what admins change, the member list,
//! invitations, profiles and self-registration.

pub mod changes;
pub mod directory;
pub mod invitations;
pub mod profile;
pub mod registration;
pub mod sso_invitation;
