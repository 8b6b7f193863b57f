//! The gate: every use case asks here before it touches a person or a material. The rules themselves are
//! pure functions of the policy ([`crate::model::policy`]); this module feeds them the principal (as a
//! [`Subject`]) and the object (as a [`Target`]), adds consultation grants, and turns decisions into errors:
//! a denial is 403 naming the rule, and a material the caller may not even list is 404.

use super::{Archive, Error, Principal, Result};
use crate::index::{Allow, Filter};
use crate::model::policy::{Access, Capability, Decision, FieldAccess, PersonScope, Policy, Subject, Target};
use crate::model::{GrantId, Material, MaterialId, Person, User};
use crate::store::{BlobAddress, BlobChunks, Table, Unsealer};
use zeroize::Zeroizing;

/// The gate's hold on content: the store's one [`Unsealer`], in a field only this module reads. Content —
/// a material's bytes and its extracted text — is read here and nowhere else, against a [`ReadPermit`].
pub(crate) struct Gate {
    unsealer: Unsealer,
}

impl Gate {
    pub(super) fn new(unsealer: Unsealer) -> Self {
        Gate { unsealer }
    }
}

/// A permit to read one material's content (the bytes of any of its versions, and their extracted texts).
/// Only this module mints one (the field is private): for a principal the policy or a consultation grant lets
/// read the material ([`Archive::check_read`]), or for one of the archive's own jobs ([`Archive::system_permit`]).
pub(crate) struct ReadPermit {
    material: MaterialId,
}

/// The archive's own reasons to read content, with no principal behind them.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SystemRead {
    /// The text lane extracts a material's text to index it.
    Indexing,
    /// The OCR lane reads a scan.
    Ocr,
    /// A search hit's snippet: the hit passed the caller's search filter.
    SearchHit,
    /// A scanned material's pages changed: its PDF is assembled anew from the pages it keeps.
    Pages,
    /// Benchmarks measuring what the gate and the audit trail cost.
    #[cfg(feature = "bench-internals")]
    Benchmark,
}

/// A material's blob address, parsed.
fn address_of(m: &Material) -> Result<BlobAddress> {
    m.address.parse().map_err(|_| Error::Corrupt(format!("bad address {}", m.address)))
}

/// A denial as a service error, naming the rule.
pub fn forbidden(d: &Decision) -> Error {
    Error::Forbidden(format!("rule {}: {}", d.rule, d.reason))
}

/// The target a person record presents to the rules.
pub fn person_target(person: &Person) -> Target<'_> {
    Target {
        person_id: Some(person.id),
        department: Some(person.department.as_str()),
        family: person.relatives(),
        ..Default::default()
    }
}

impl Archive {
    /// Checks the caller may read a material's content (else 403, or 404 when it may not even know it) and
    /// mints the permit to read it; with the grant the read stands on, if it is one.
    pub(crate) fn check_read(
        &self,
        p: &Principal,
        person: &Person,
        m: &Material,
    ) -> Result<(Option<GrantId>, ReadPermit)> {
        let grant = self.check_material(p, person, m, Access::Read)?;
        Ok((grant, ReadPermit { material: m.id }))
    }

    /// A permit for one of the archive's own jobs ([`SystemRead`]).
    pub(crate) fn system_permit(&self, m: &Material, why: SystemRead) -> ReadPermit {
        tracing::trace!(material = %m.id, ?why, "system read");
        ReadPermit { material: m.id }
    }

    /// The permit must be for this material (any of its versions: `m` may be an older version's record).
    fn permitted(permit: &ReadPermit, m: &Material) -> Result<BlobAddress> {
        if permit.material != m.id {
            return Err(Error::Internal(format!("a read permit for material {} used for {}", permit.material, m.id)));
        }
        address_of(m)
    }

    /// The bytes of `m` (a material or one of its versions' records), decrypted and verified.
    pub(crate) fn read_content(&self, permit: &ReadPermit, m: &Material) -> Result<Zeroizing<Vec<u8>>> {
        let address = Self::permitted(permit, m)?;
        Ok(self.store().read_blob(&self.inner.gate.unsealer, &address)?)
    }

    /// The bytes of `m` one chunk at a time (large downloads).
    pub(crate) fn content_chunks(&self, permit: &ReadPermit, m: &Material) -> Result<BlobChunks> {
        let address = Self::permitted(permit, m)?;
        Ok(self.store().blob_chunks(&self.inner.gate.unsealer, &address)?)
    }

    /// The original of one of `m`'s pages kept as a blob of its own (a PNG or TIFF page).
    pub(crate) fn read_page_blob(
        &self,
        permit: &ReadPermit,
        m: &Material,
        address: &BlobAddress,
    ) -> Result<Zeroizing<Vec<u8>>> {
        Self::permitted(permit, m)?;
        if !m.page_images.iter().any(|p| p.address.as_deref() == Some(address.to_string().as_str())) {
            return Err(Error::Internal(format!("blob {address} is no page of material {}", m.id)));
        }
        Ok(self.store().read_blob(&self.inner.gate.unsealer, address)?)
    }

    /// The text extracted from the bytes of `m`, if any.
    pub(crate) fn stored_text<T: serde::de::DeserializeOwned>(
        &self,
        permit: &ReadPermit,
        m: &Material,
    ) -> Result<Option<T>> {
        let address = Self::permitted(permit, m)?;
        Ok(self.store().read_text(&self.inner.gate.unsealer, &address)?)
    }

    /// The bytes of a consultation's letter of introduction (介绍信), which is no material: read by the approving
    /// authority (干部管理权限) of the grant, its decider — neither barred from the dossier — and the auditor;
    /// anyone else is refused (403 rule consultation.letter).
    pub(crate) fn read_letter(
        &self,
        p: &Principal,
        g: &super::grants::Grant,
        approver: &str,
        person: &Person,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let auditor = self.policy().capability(&p.subject, Capability::ReadAudit).allowed;
        let approves = super::grants::is_authority(p, approver, person)
            || g.decided_by.as_deref() == Some(p.user.username.as_str());
        let barred = self.policy().hard_rules(&p.subject, &person_target(person)).is_some();
        if !(auditor || approves && !barred) {
            return Err(Error::Forbidden(
                "rule consultation.letter: the 介绍信 is read by the approving authority and the auditor only".into(),
            ));
        }
        let letter = g.letter.as_ref().ok_or_else(|| Error::NotFound(format!("grant {} has no 介绍信", g.id)))?;
        let address: BlobAddress =
            letter.address.parse().map_err(|_| Error::Corrupt(format!("bad address {}", letter.address)))?;
        Ok(self.store().read_blob(&self.inner.gate.unsealer, &address)?)
    }

    /// Verification: reads, decrypts and re-hashes a blob and returns only its size (the content stays here).
    pub(crate) fn check_blob(&self, address: &BlobAddress) -> Result<u64> {
        Ok(self.store().read_blob(&self.inner.gate.unsealer, address)?.len() as u64)
    }

    /// The policy in force.
    pub fn policy(&self) -> std::sync::Arc<Policy> {
        self.inner.policy.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The subject an account presents to the rules (its relatives come from its own person record). An
    /// account that breaks 三员分立 (written by an older version) acts with no role at all until the security
    /// administrator mends it; one with business roles but no linked person record reads nothing.
    pub(crate) fn subject_for(&self, user: &User) -> Result<Subject> {
        let relatives = match user.person_id {
            Some(pid) => {
                self.store().get::<Person>(Table::Persons, pid.as_bytes())?.map(|p| p.relatives()).unwrap_or_default()
            }
            None => Vec::new(),
        };
        let roles = if crate::model::Role::check_separation(&user.roles).is_ok() { user.roles.clone() } else { vec![] };
        let unlinked = user.person_id.is_none() && roles.iter().any(|r| r.needs_person_link());
        Ok(Subject {
            roles,
            department: user.department.clone(),
            person_id: user.person_id,
            relatives,
            unlinked,
            clearance: user.effective_clearance(),
        })
    }

    /// Requires a capability.
    pub(crate) fn require(&self, p: &Principal, cap: Capability) -> Result<()> {
        let d = self.policy().capability(&p.subject, cap);
        if d.allowed { Ok(()) } else { Err(forbidden(&d)) }
    }

    /// The target a material presents to the rules.
    pub(crate) fn material_target<'a>(&self, person: &'a Person, m: &Material) -> Target<'a> {
        Target {
            lineage: self.scheme().lineage(&m.meta.category),
            tags: m.meta.tags.clone(),
            secrecy: m.meta.secrecy.unwrap_or(0),
            ..person_target(person)
        }
    }

    /// May the caller see this person record? Returns the fields it may see.
    pub(crate) fn check_person(&self, p: &Principal, person: &Person) -> Result<FieldAccess> {
        let policy = self.policy();
        let t = person_target(person);
        let d = policy.decide(&p.subject, &t, Access::Person);
        if d.allowed {
            return Ok(policy.fields_for(&p.subject, &t));
        }
        if policy.hard_rules(&p.subject, &t).is_none() && self.active_grant(p, person, None)?.is_some() {
            return Ok(FieldAccess { basic: true, ..Default::default() });
        }
        Err(forbidden(&d))
    }

    /// May the caller do `access` to this material? Returns the grant the access stands on, if it is one. A
    /// material above the caller's 密级 clearance is 404, grant or not.
    pub(crate) fn check_material(
        &self,
        p: &Principal,
        person: &Person,
        m: &Material,
        access: Access,
    ) -> Result<Option<GrantId>> {
        let policy = self.policy();
        let t = self.material_target(person, m);
        let d = policy.decide(&p.subject, &t, access);
        if d.allowed {
            return Ok(None);
        }
        if let Some(hard) = policy.hard_rules(&p.subject, &t) {
            return Err(forbidden(&hard));
        }
        // Above the caller's clearance: as if it did not exist, whatever a grant says (docs/DOMAIN.md §3).
        if Policy::clearance_rule(&p.subject, &t, access).is_some() {
            return Err(Error::NotFound(format!("material {} not found", m.id)));
        }
        let grant = self.active_grant(p, person, Some(m))?;
        if matches!(access, Access::List | Access::Read)
            && let Some(g) = &grant
        {
            return Ok(Some(g.id));
        }
        let listable = access == Access::List || policy.decide(&p.subject, &t, Access::List).allowed || grant.is_some();
        if listable && access != Access::List {
            Err(forbidden(&d))
        } else {
            Err(Error::NotFound(format!("material {} not found", m.id)))
        }
    }

    /// The search filter that lets through exactly what the caller may read.
    pub(crate) fn search_filter(&self, p: &Principal) -> Result<Filter> {
        let policy = self.policy();
        let s = &p.subject;
        let mut allow = Vec::new();
        if s.unlinked {
            return Ok(Filter { allow: Some(allow), ..Default::default() });
        }
        for r in &s.roles {
            let Some(rp) = policy.roles.get(r) else { continue };
            if rp.persons == PersonScope::None || rp.read.is_empty() {
                continue;
            }
            allow.push(Allow {
                all: rp.read.all,
                categories: rp.read.categories.clone(),
                tags: rp.read.tags.clone(),
                departments: (rp.persons == PersonScope::OwnDepartment)
                    .then(|| vec![s.department.clone().unwrap_or_else(|| "\u{0}none".into())]),
                ..Default::default()
            });
        }
        for g in self.active_grants_of(p)? {
            allow.push(Allow {
                all: true,
                persons: Some(vec![g.person_id.to_string()]),
                materials: g.material_ids.as_ref().map(|ids| ids.iter().map(|i| i.to_string()).collect()),
                ..Default::default()
            });
        }
        // The clearance holds inside the query, so totals count only what the caller may know exists.
        let mut filter = Filter { allow: Some(allow), max_secrecy: Some(u64::from(s.clearance)), ..Default::default() };
        if let Some(me) = s.person_id {
            filter.exclude_persons.push(me.to_string());
            if policy.no_relatives {
                filter.exclude_family_of.push(me.to_string());
                filter.exclude_persons.extend(s.relatives.iter().map(|r| r.to_string()));
            }
        }
        Ok(filter)
    }
}
