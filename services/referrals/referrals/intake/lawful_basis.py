"""The lawful basis of a referral must add up with its consent (UK GDPR Article 6, and docs/privacy.md).

- `consent` as the basis needs the family's consent given;
- `vital_interests` is for a safeguarding concern (someone's life or safety at risk) and needs the concern flagged;
- without a stated basis, a referral the family consented to is shared on `consent`, one without on `public_task`
  (the council's and the partner's statutory early help duties), so no referral is stored without a basis.
"""

from __future__ import annotations

from referrals.intake.schemas import ReferralCreate
from shared.errors import UnprocessableContent, field_error


def lawful_basis_of(payload: ReferralCreate) -> str:
    """The basis to record for `payload`, or a 422 naming both fields when it contradicts the consent."""
    basis = payload.lawful_basis
    if basis is None:
        return "consent" if payload.consent.given else "public_task"
    if basis == "consent" and not payload.consent.given:
        raise UnprocessableContent(
            "The lawful basis is consent but the family's consent is not given: record the consent, or the basis "
            "the information is shared on without it (public_task; vital_interests for a safeguarding concern)",
            errors=[
                field_error("/lawful_basis", "consent as the basis needs consent.given true", "basis_without_consent"),
                field_error("/consent/given", "false, so consent cannot be the lawful basis", "basis_without_consent"),
            ],
        )
    if basis == "vital_interests" and not payload.safeguarding_concern:
        raise UnprocessableContent(
            "Vital interests is the basis only for a safeguarding concern: set safeguarding_concern, or choose "
            "another basis",
            errors=[
                field_error(
                    "/lawful_basis", "vital_interests needs safeguarding_concern true", "basis_not_safeguarding"
                ),
                field_error(
                    "/safeguarding_concern", "false, so vital_interests does not apply", "basis_not_safeguarding"
                ),
            ],
        )
    return basis
