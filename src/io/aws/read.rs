//! The reads: the provider, each role with its policies, the whole account at once
//! (GetAccountAuthorizationDetails), the other roles' trusts, tags, the audit's view. Nothing
//! here writes.

use super::*;

impl Aws {
    /// The provider whose URL is `url` (with or without `https://`), found by listing.
    pub async fn find_provider(&self, url: &str) -> Result<Option<ObservedProvider>> {
        let want = url.trim_start_matches("https://");
        let list = self
            .iam
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|e| sdk_error("iam:ListOpenIDConnectProviders", e))?;
        for entry in list.open_id_connect_provider_list() {
            let Some(arn) = entry.arn() else { continue };
            if !arn.ends_with(&format!("oidc-provider/{want}")) {
                continue;
            }
            let p = self
                .iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .send()
                .await
                .map_err(|e| sdk_error("iam:GetOpenIDConnectProvider", e))?;
            let got = p.url().unwrap_or_default().trim_start_matches("https://");
            if got != want {
                continue;
            }
            return Ok(Some(ObservedProvider {
                arn: arn.to_string(),
                url: got.to_string(),
                client_ids: p.client_id_list().to_vec(),
                tags: tags_of(p.tags()),
            }));
        }
        Ok(None)
    }

    /// The provider at `arn` (the ARN a config's trust names: partition, account and URL fix it),
    /// in one call; `None` if it does not exist.
    pub async fn provider_at(&self, arn: &str) -> Result<Option<ObservedProvider>> {
        let p = match self
            .iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(sdk_error("iam:GetOpenIDConnectProvider", e)),
        };
        Ok(Some(ObservedProvider {
            arn: arn.to_string(),
            url: p
                .url()
                .unwrap_or_default()
                .trim_start_matches("https://")
                .to_string(),
            client_ids: p.client_id_list().to_vec(),
            tags: tags_of(p.tags()),
        }))
    }

    /// A role with its trust, inline and attached policies and tags; `None` if it does not exist.
    /// GetRole (which returns the tags) and the two policy lists go out together: they need only
    /// the name.
    pub async fn read_role(&self, name: &str) -> Result<Option<ObservedRole>> {
        Ok(self.read_role_created(name).await?.map(|(role, _)| role))
    }

    /// [`Aws::read_role`], with when the role was created (from the same GetRole).
    pub async fn read_role_created(&self, name: &str) -> Result<Option<(ObservedRole, i64)>> {
        let (r, names, attached) = tokio::join!(
            self.iam.get_role().role_name(name).send(),
            self.iam
                .list_role_policies()
                .role_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
            self.iam
                .list_attached_role_policies()
                .role_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        );
        let r = match r {
            Ok(r) => r,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(sdk_error("iam:GetRole", e)),
        };
        let Some(role) = r.role() else {
            return Ok(None);
        };
        let trust = decoded(
            "iam:GetRole",
            &format!("role {name} trust policy"),
            role.assume_role_policy_document(),
        )?;
        let names: Vec<String> = names.map_err(|e| sdk_error("iam:ListRolePolicies", e))?;
        let attached = attached.map_err(|e| sdk_error("iam:ListAttachedRolePolicies", e))?;
        let mut inline = BTreeMap::new();
        for pn in names {
            let p = self
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(&pn)
                .send()
                .await
                .map_err(|e| sdk_error("iam:GetRolePolicy", e))?;
            inline.insert(
                pn.clone(),
                decoded(
                    "iam:GetRolePolicy",
                    &format!("role {name} inline policy {pn}"),
                    Some(p.policy_document()),
                )?,
            );
        }
        let observed = ObservedRole {
            name: role.role_name().to_string(),
            arn: role.arn().to_string(),
            role_id: role.role_id().to_string(),
            path: role.path().to_string(),
            description: role.description().map(String::from),
            max_session_duration: role.max_session_duration().map(i64::from).unwrap_or(3600),
            permissions_boundary: role
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
                .map(String::from),
            tags: tags_of(role.tags()),
            trust_policy: trust,
            inline_policies: inline,
            attached_policies: sorted(
                attached
                    .iter()
                    .filter_map(|a| a.policy_arn().map(String::from))
                    .collect(),
            ),
        };
        Ok(Some((observed, role.create_date().secs())))
    }

    /// A customer-managed policy with its default document, versions and tags.
    pub async fn read_policy(&self, arn: &str) -> Result<Option<ObservedPolicy>> {
        let p = match self.iam.get_policy().policy_arn(arn).send().await {
            Ok(p) => p,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(sdk_error("iam:GetPolicy", e)),
        };
        let Some(pol) = p.policy() else {
            return Ok(None);
        };
        let default_version = pol.default_version_id().unwrap_or("v1").to_string();
        // GetPolicy returns the tags; the version and the version list are read together.
        let (v, versions) = tokio::join!(
            self.iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(&default_version)
                .send(),
            self.iam
                .list_policy_versions()
                .policy_arn(arn)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        );
        let v = v.map_err(|e| sdk_error("iam:GetPolicyVersion", e))?;
        let document = decoded(
            "iam:GetPolicyVersion",
            &format!("policy {arn}"),
            v.policy_version().and_then(|v| v.document()),
        )?;
        let mut versions: Vec<_> = versions.map_err(|e| sdk_error("iam:ListPolicyVersions", e))?;
        versions.sort_by_key(|v| {
            version_order(
                v.version_id().unwrap_or_default(),
                v.create_date().map(|d| (d.secs(), d.subsec_nanos())),
            )
        });
        Ok(Some(ObservedPolicy {
            arn: arn.to_string(),
            default_version,
            document,
            versions: versions
                .iter()
                .map(|v| {
                    (
                        v.version_id().unwrap_or_default().to_string(),
                        v.is_default_version(),
                    )
                })
                .collect(),
            // A policy whose description names its config is owned by that config; its tags are
            // then not consulted (the account-wide read does not fetch them either).
            tags: match marked_config(pol.description()) {
                Some(_) => BTreeMap::new(),
                None => tags_of(pol.tags()),
            },
            attachment_count: pol.attachment_count().unwrap_or(0),
            marked: marked_config(pol.description()),
        }))
    }

    /// Read everything the desired state names: the provider, each role, each preset policy, and
    /// any customer-managed policy attached to a configured role, role by role (at most
    /// `concurrency` roles at a time).
    pub async fn observe(&self, desired: &Rendered, concurrency: usize) -> Result<Observed> {
        // The provider and the roles are read at the same time; so are each role and the preset
        // policies it should have (their ARNs are known before the role is read).
        let (provider, roles) = tokio::join!(
            self.provider_at(&desired.provider_arn),
            self.observe_roles(desired, concurrency)
        );
        Ok(assemble(provider?, roles?))
    }

    /// The same observed state as [`Aws::observe`], read from the whole account: ListRoles and
    /// GetAccountAuthorizationDetails (roles and customer-managed policies, pages of 1,000) with
    /// the provider, then GetPolicy for the tags of each policy that exists and whose
    /// description does not name its config (`concurrency` at a time).
    pub async fn observe_account(
        &self,
        desired: &Rendered,
        concurrency: usize,
    ) -> Result<(Observed, Vec<(String, Value)>)> {
        let (provider, listed, details) = tokio::join!(
            self.provider_at(&desired.provider_arn),
            self.list_roles(),
            self.account_details(true),
        );
        let (roles, others, _) = self
            .observe_from_details(desired, concurrency, listed?, details?)
            .await?;
        Ok((assemble(provider?, roles), others))
    }

    /// Observe what `desired` names, by the path `reads` picks (see
    /// [`crate::state::observed::choose_read_path`]), with what `others` asks of the other roles:
    /// their trusts, and the tags the account read brought (every other role's; role by role,
    /// none: the caller reads those it needs).
    pub async fn observe_by(
        &self,
        desired: &Rendered,
        concurrency: usize,
        reads: Reads,
        others: Others,
    ) -> Result<(Observed, Vec<(String, Value)>, OtherTags, ReadChoice)> {
        let configured = desired.roles.len();
        let names: Vec<String> = desired.roles.iter().map(|r| r.name.clone()).collect();
        // What this run listed moments ago, if anything: taken here whatever the path, so no
        // later observation (after writes) ever sees it.
        let kept = self.take_listing();
        let present = |listed: &[aws_sdk_iam::types::Role]| -> std::collections::BTreeSet<String> {
            listed.iter().map(|r| r.role_name().to_string()).collect()
        };
        let wanted = |trusts: Vec<(String, Value)>| match others {
            Others::Nothing => Vec::new(),
            Others::Trusts | Others::Owners => trusts,
        };
        // This run listed the account moments ago (init): when none of the configured roles
        // is in it (or `--reads per-role`), only the present ones are read, role by role.
        let by_listing = kept.as_deref().is_some_and(|listed| {
            let present = present(listed);
            reads == Reads::PerRole
                || (reads == Reads::Auto
                    && others != Others::Owners
                    && configured < crate::state::observed::ACCOUNT_READ_MIN_ROLES
                    && names.iter().all(|n| !present.contains(n)))
        });
        if by_listing && let Some(listed) = kept {
            // A role the listing does not hold is not read, and the listing serves the other
            // roles' trusts. A role created since is met by the create's "already exists",
            // which is read back.
            let present = present(&listed);
            let absent: std::collections::BTreeSet<String> = names
                .iter()
                .filter(|n| !present.contains(*n))
                .cloned()
                .collect();
            let (provider, roles) = tokio::join!(
                self.provider_at(&desired.provider_arn),
                self.observe_roles_except(desired, concurrency, &absent)
            );
            let trusts = wanted(trusts_except(&listed, &names)?);
            let why = match reads {
                Reads::PerRole => "--reads per-role".to_string(),
                _ => format!(
                    "this run listed the account moments ago and holds none of the {configured} configured role(s)"
                ),
            };
            let choice = ReadChoice::because(ReadPath::PerRole, why);
            return Ok((
                assemble(provider?, roles?),
                trusts,
                OtherTags::new(),
                choice,
            ));
        }
        if choose_read_path(reads, configured, None) == ReadPath::PerRole {
            // Role by role, without listing first: the listing (when wanted) runs beside it.
            let list = async {
                match others {
                    Others::Nothing => Ok(Vec::new()),
                    Others::Trusts | Others::Owners => self.other_role_trusts(&names).await,
                }
            };
            let (observed, trusts) = tokio::join!(self.observe(desired, concurrency), list);
            let choice = ReadChoice::of(reads, configured, None);
            return Ok((observed?, trusts?, OtherTags::new(), choice));
        }
        // Roles role by role would read: the configured ones, and (for their owners) the others
        // that trust the config's provider.
        let one_by_one = |listed: &[aws_sdk_iam::types::Role]| -> Result<usize> {
            Ok(configured
                + match others {
                    Others::Owners => crate::state::drift::trusting_provider(
                        desired,
                        &trusts_except(listed, &names)?,
                    )
                    .len(),
                    Others::Nothing | Others::Trusts => 0,
                })
        };
        // List first (the account path needs the list, and the count decides the path); the
        // provider is read meanwhile.
        let provider = self.provider_at(&desired.provider_arn);
        let rest = async {
            // The listing and the account's details side by side (the listing's count still
            // decides the path): when role-by-role reads win, the details still in flight are
            // dropped, at most a page or two; otherwise the account is read in the time of
            // the longer of the two.
            let list = std::pin::pin!(async {
                match kept {
                    Some(listed) => Ok(listed),
                    None => self.list_roles().await,
                }
            });
            let details = std::pin::pin!(self.account_details(true));
            let (listed, details, mut choice) = match futures_util::future::select(list, details)
                .await
            {
                futures_util::future::Either::Left((listed, details)) => {
                    let listed = listed?;
                    let choice = ReadChoice::of(reads, one_by_one(&listed)?, Some(listed.len()));
                    match choice.path {
                        ReadPath::Account => (listed, Some(details.await), choice),
                        ReadPath::PerRole => (listed, None, choice),
                    }
                }
                futures_util::future::Either::Right((details, list)) => {
                    let listed = list.await?;
                    let choice = ReadChoice::of(reads, one_by_one(&listed)?, Some(listed.len()));
                    let details = (choice.path == ReadPath::Account).then_some(details);
                    (listed, details, choice)
                }
            };
            let details = match details {
                Some(Ok(details)) => Some(details),
                // `auto` with a caller that may not read the whole account (the
                // keyless-check preset's default): read role by role instead.
                Some(Err(Error::Aws { code, .. }))
                    if reads == Reads::Auto && code.starts_with("AccessDenied") =>
                {
                    choice = ReadChoice::because(
                        ReadPath::PerRole,
                        format!("{GAAD} was denied ({code})"),
                    );
                    None
                }
                Some(Err(e)) => return Err(e),
                None => None,
            };
            match details {
                Some(details) => {
                    let (roles, trusts, tags) = self
                        .observe_from_details(desired, concurrency, listed, details)
                        .await?;
                    Ok::<_, Error>((roles, trusts, tags, choice))
                }
                None => {
                    let trusts = trusts_except(&listed, &names)?;
                    let roles = self.observe_roles(desired, concurrency).await?;
                    Ok((roles, trusts, OtherTags::new(), choice))
                }
            }
        };
        let (provider, rest) = tokio::join!(provider, rest);
        let (roles, trusts, tags, choice) = rest?;
        Ok((assemble(provider?, roles), wanted(trusts), tags, choice))
    }

    /// The other roles' trusts, as [`Aws::other_role_trusts`], keeping the listing for this
    /// run's next observation: a command that lists the account first (init) and then plans
    /// reads the account once. Only the next observation takes it.
    pub async fn list_roles_kept(&self) -> Result<Vec<(String, Value)>> {
        let listed = self.list_roles().await?;
        let trusts = trusts_except(&listed, &[])?;
        if let Ok(mut kept) = self.listing.lock() {
            *kept = Some(listed);
        }
        Ok(trusts)
    }

    /// The listing [`Aws::list_roles_kept`] kept, if any (taken: used once).
    fn take_listing(&self) -> Option<Vec<aws_sdk_iam::types::Role>> {
        self.listing.lock().ok()?.take()
    }

    /// Every role in the account (ListRoles, pages of 1,000: IAM's largest).
    async fn list_roles(&self) -> Result<Vec<aws_sdk_iam::types::Role>> {
        self.iam
            .list_roles()
            .max_items(1000)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("iam:ListRoles", e))
    }

    /// Every role, and with `policies` every customer-managed policy, with their documents
    /// (GetAccountAuthorizationDetails, pages of 1,000, one after another: each needs the last
    /// one's marker).
    async fn account_details(&self, policies: bool) -> Result<AccountDetails> {
        use aws_sdk_iam::types::EntityType;
        // Roles and policies as two streams of pages, side by side: a page holds 1,000
        // entities of either kind, so one stream of both would take their sum in round trips.
        let pages = |kind: EntityType| async move {
            let mut pages = self
                .iam
                .get_account_authorization_details()
                .filter(kind)
                .max_items(1000)
                .into_paginator()
                .send();
            let mut out = AccountDetails::default();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| sdk_error(GAAD, e))?;
                out.roles.extend(page.role_detail_list().iter().cloned());
                out.policies.extend(page.policies().iter().cloned());
            }
            Ok::<_, Error>(out)
        };
        if !policies {
            return pages(EntityType::Role).await;
        }
        let (roles, local) = tokio::join!(
            pages(EntityType::Role),
            pages(EntityType::LocalManagedPolicy)
        );
        let mut out = roles?;
        out.policies.extend(local?.policies);
        Ok(out)
    }

    /// Turn the account's listing and details into each configured role's observed state (as
    /// `observe_roles` returns it) and the other roles' trusts. Policy tags are the only reads
    /// left: GetAccountAuthorizationDetails does not return them.
    #[allow(clippy::type_complexity)]
    async fn observe_from_details(
        &self,
        desired: &Rendered,
        concurrency: usize,
        listed: Vec<aws_sdk_iam::types::Role>,
        details: AccountDetails,
    ) -> Result<(Vec<RoleRead>, Vec<(String, Value)>, OtherTags)> {
        let names: Vec<String> = desired.roles.iter().map(|r| r.name.clone()).collect();
        let others = trusts_except(&listed, &names)?;
        let other_tags: OtherTags = details
            .roles
            .iter()
            .filter_map(|d| d.role_name().map(|n| (n, d)))
            .filter(|(n, _)| !names.iter().any(|c| c == n))
            .map(|(n, d)| (n.to_string(), tags_of(d.tags())))
            .collect();
        let listed: BTreeMap<&str, &aws_sdk_iam::types::Role> =
            listed.iter().map(|r| (r.role_name(), r)).collect();
        let role_details: BTreeMap<&str, &aws_sdk_iam::types::RoleDetail> = details
            .roles
            .iter()
            .filter_map(|d| d.role_name().map(|n| (n, d)))
            .collect();
        let policy_details: BTreeMap<&str, &aws_sdk_iam::types::ManagedPolicyDetail> = details
            .policies
            .iter()
            .filter_map(|p| p.arn().map(|a| (a, p)))
            .collect();
        let customer = format!(":iam::{}:policy/", desired.target.account_id);
        let mut out = Vec::new();
        let mut wanted: Vec<String> = Vec::new();
        for role in &desired.roles {
            let presets: Vec<String> = role
                .policies
                .iter()
                .filter(|p| p.attach == "managed")
                .map(|p| preset_policy_arn(desired, role, &p.name))
                .collect();
            let live = match (
                role_details.get(role.name.as_str()),
                listed.get(role.name.as_str()),
            ) {
                (Some(d), Some(l)) => Some(role_from_details(d, l)?),
                (None, None) => None,
                // Created or deleted between the two reads: ask for this one role.
                _ => self.read_role(&role.name).await?,
            };
            let mut arns = presets.clone();
            if let Some(l) = &live {
                arns.extend(
                    l.attached_policies
                        .iter()
                        .filter(|a| a.contains(&customer) && !presets.contains(a))
                        .cloned(),
                );
            }
            arns.sort();
            arns.dedup();
            wanted.extend(arns.iter().cloned());
            out.push((role.name.clone(), live, arns));
        }
        wanted.sort();
        wanted.dedup();
        // Tags of each policy that exists, `concurrency` at a time.
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut reads = tokio::task::JoinSet::new();
        let unmarked = |a: &String| {
            policy_details
                .get(a.as_str())
                .is_some_and(|d| marked_config(d.description()).is_none())
        };
        for arn in wanted.iter().filter(|a| unmarked(a)) {
            let (aws, permits, arn) = (self.clone(), permits.clone(), arn.clone());
            reads.spawn(async move {
                let _permit = permits.acquire_owned().await.map_err(internal)?;
                let tags = match aws.iam.get_policy().policy_arn(&arn).send().await {
                    Ok(p) => Some(tags_of(p.policy().map(|p| p.tags()).unwrap_or_default())),
                    Err(e) if not_found(&e) => None,
                    Err(e) => return Err(sdk_error("iam:GetPolicy", e)),
                };
                Ok::<_, Error>((arn, tags))
            });
        }
        let mut tags = BTreeMap::new();
        while let Some(joined) = reads.join_next().await {
            let (arn, t) = joined.map_err(internal)??;
            tags.insert(arn, t);
        }
        let mut roles = Vec::new();
        for (name, live, arns) in out {
            let mut policies = Vec::new();
            for arn in arns {
                let p = match (policy_details.get(arn.as_str()), tags.get(&arn)) {
                    (Some(d), _) if marked_config(d.description()).is_some() => {
                        Some(policy_from_details(d, BTreeMap::new())?)
                    }
                    (Some(d), Some(Some(t))) => Some(policy_from_details(d, t.clone())?),
                    // Gone between the two reads.
                    _ => None,
                };
                policies.push((arn, p));
            }
            roles.push((name, live, policies));
        }
        Ok((roles, others, other_tags))
    }

    #[allow(clippy::type_complexity)]
    async fn observe_roles(&self, desired: &Rendered, concurrency: usize) -> Result<Vec<RoleRead>> {
        self.observe_roles_except(desired, concurrency, &Default::default())
            .await
    }

    /// [`Aws::observe_roles`], but the roles named in `absent` are known not to exist: they are
    /// not read (their preset policies still are).
    async fn observe_roles_except(
        &self,
        desired: &Rendered,
        concurrency: usize,
        absent: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<RoleRead>> {
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for role in &desired.roles {
            let aws = self.clone();
            let permits = permits.clone();
            let name = role.name.clone();
            let presets: Vec<String> = role
                .policies
                .iter()
                .filter(|p| p.attach == "managed")
                .map(|p| preset_policy_arn(desired, role, &p.name))
                .collect();
            let customer = format!(":iam::{}:policy/", desired.target.account_id);
            let known_absent = absent.contains(&name);
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await.map_err(internal)?;
                let mut reads = tokio::task::JoinSet::new();
                let spawn_read = |reads: &mut tokio::task::JoinSet<_>, arn: String| {
                    let aws = aws.clone();
                    reads.spawn(async move {
                        let policy = aws.read_policy(&arn).await;
                        (arn, policy)
                    });
                };
                for arn in &presets {
                    spawn_read(&mut reads, arn.clone());
                }
                let live = if known_absent {
                    None
                } else {
                    aws.read_role(&name).await?
                };
                if let Some(l) = &live {
                    for arn in l
                        .attached_policies
                        .iter()
                        .filter(|a| a.contains(&customer) && !presets.contains(a))
                    {
                        spawn_read(&mut reads, arn.clone());
                    }
                }
                let mut policies = Vec::new();
                while let Some(joined) = reads.join_next().await {
                    let (arn, p) = joined.map_err(internal)?;
                    policies.push((arn, p?));
                }
                policies.sort_by(|a, b| a.0.cmp(&b.0));
                Ok::<_, Error>((name, live, policies))
            });
        }
        let mut out = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            out.push(joined.map_err(internal)??);
        }
        Ok(out)
    }

    /// The tags of each named role (GetRole, which returns them; `concurrency` roles at a
    /// time); a role that disappeared meanwhile is left out.
    pub async fn role_tags(
        &self,
        names: &[&str],
        concurrency: usize,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for name in names {
            let (aws, permits, name) = (self.clone(), permits.clone(), name.to_string());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let tags = aws
                    .iam
                    .get_role()
                    .role_name(&name)
                    .send()
                    .await
                    .map(|r| r.role().map(|r| r.tags().to_vec()).unwrap_or_default())
                    .map_err(|e| sdk_error("iam:GetRole", e));
                (name, tags)
            });
        }
        let mut out = BTreeMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (name, tags) = joined.map_err(internal)?;
            match tags {
                Ok(tags) => {
                    out.insert(name, tags_of(&tags));
                }
                Err(Error::Aws { code, .. }) if code == "NoSuchEntity" => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// What `keyless audit` judges: every OIDC provider ARN, and every role whose trust names a
    /// GitHub issuer's provider with its inline and attached policies. Read-only, and
    /// a handful of calls whatever the account's size: ListOpenIDConnectProviders and
    /// GetAccountAuthorizationDetails (roles only, pages of 1,000) together.
    pub async fn audit_view(&self) -> Result<crate::state::audit::AccountView> {
        let providers = async {
            self.iam
                .list_open_id_connect_providers()
                .send()
                .await
                .map_err(|e| sdk_error("iam:ListOpenIDConnectProviders", e))
        };
        // Roles and the account's own managed policies, in the same paged call: the trust map
        // draws what a customer-managed policy lets a role do.
        let (providers, details) = tokio::join!(providers, self.account_details(true));
        let providers: Vec<String> = providers?
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn().map(String::from))
            .collect();
        let details = details?;
        let documents: BTreeMap<String, Value> = details
            .policies
            .iter()
            .filter_map(|p| {
                let doc = super::policy_from_details(p, BTreeMap::new())
                    .ok()?
                    .document;
                Some((p.arn()?.to_string(), doc))
            })
            .collect();
        let mut roles = Vec::new();
        for d in details.roles {
            let name = d.role_name().unwrap_or_default().to_string();
            let trust = decoded(
                GAAD,
                &format!("role {name} trust policy"),
                d.assume_role_policy_document(),
            )?;
            if crate::state::audit::github_providers_of(&trust).is_empty() {
                continue;
            }
            roles.push(crate::state::audit::AuditedRole {
                arn: d.arn().unwrap_or_default().to_string(),
                trust_policy: trust,
                inline_policies: inline_of(&d)?,
                attached_policies: d
                    .attached_managed_policies()
                    .iter()
                    .filter_map(|a| a.policy_arn().map(String::from))
                    .collect(),
                created: d.create_date().map(|t| t.secs()),
                last_used: d
                    .role_last_used()
                    .and_then(|u| u.last_used_date())
                    .map(|t| t.secs()),
                tags: d
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
                managed_documents: d
                    .attached_managed_policies()
                    .iter()
                    .filter_map(|a| a.policy_arn())
                    .filter_map(|arn| Some((arn.to_string(), documents.get(arn)?.clone())))
                    .collect(),
                name,
            });
        }
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(crate::state::audit::AccountView { providers, roles })
    }

    /// Every role in the account except `exclude`, with its trust policy (for destroy's check
    /// that nothing else trusts the provider, and check's look at roles outside the config).
    pub async fn other_role_trusts(&self, exclude: &[String]) -> Result<Vec<(String, Value)>> {
        trusts_except(&self.list_roles().await?, exclude)
    }
}
