"""The API's accounts routes: the OAuth2 password flow, the caller's own tokens, and /me."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response
from fastapi.security import OAuth2PasswordRequestForm

from jobdeck import views
from jobdeck.web import auth, problems, schemas
from jobdeck.web.api import MAX_ID, PROBLEMS
from jobdeck.web.deps import ApiUser, ServiceDep, password_login

router = APIRouter(prefix="/api/v1", responses=PROBLEMS)


@router.post(
    "/auth/token",
    response_model=schemas.Token,
    tags=["auth"],
    responses=problems.responses(429),
    dependencies=[Depends(password_login)],
)
def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    service: ServiceDep,
    token_name: Annotated[str, Form(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")] = "api",  # noqa: S107
    expires_in_days: Annotated[int | None, Form(ge=1, le=3650, description="at most JOBDECK_TOKEN_MAX_DAYS")] = None,
) -> Any:
    """OAuth2 password flow: trade a username and password for a bearer token that expires (by default after
    JOBDECK_TOKEN_MAX_DAYS days)."""
    user = service.accounts.authenticate(form.username, form.password, auth.client_address(request))
    secret, lifetime = service.accounts.issue_token(user, token_name, expires_in_days)
    return {"access_token": secret, "token_type": "bearer", "expires_in": lifetime}


@router.get("/auth/tokens", response_model=list[schemas.TokenOut], tags=["auth"])
def tokens(user: ApiUser, service: ServiceDep) -> Any:
    """The caller's own live API tokens (names and dates; a token itself is never shown again)."""
    return [
        {
            "id": t.id,
            "name": t.name,
            "created_at": views.timestamp(t.created_at),
            "last_used_at": views.timestamp(t.last_used_at),
            "expires_at": views.timestamp(t.expires_at),
        }
        for t in service.accounts.tokens_of(user)
    ]


@router.delete("/auth/tokens/{token_id}", status_code=204, tags=["auth"])
def revoke_token(token_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: ApiUser, service: ServiceDep) -> Response:
    """Revoke one of the caller's own tokens (another user's token is answered as a missing one)."""
    service.accounts.revoke_token(user, token_id)
    return Response(status_code=204)


@router.get("/me", response_model=schemas.Me, tags=["auth"])
def me(user: ApiUser) -> Any:
    return {"username": user.username, "display_name": user.display_name, "is_admin": user.is_admin}
