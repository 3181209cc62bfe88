"""The statistics page's filters: a period and a region, read from the query string (a GET
form: it changes nothing, so it carries no CSRF token). ``triage.stats.Filters`` checks them."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from ... import stats
from ..labels import choices
from .base import Form


class StatsFilterForm(Form):
    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To (inclusive)"), validators=[Optional()])
    region = SelectField(
        _l("Region"),
        choices=lambda: choices("region", _l("All regions")),
        validators=[Optional()],
    )

    def filters(self, scope: str | None, today: date) -> stats.Filters:
        """The filters asked for; a user scoped to a region gets that region whatever the
        query string says. Raises ``InvalidInput`` when the period does not hold together."""
        return stats.Filters.of(
            start=self.start.data,
            end=self.end.data,
            region=self.region.data or None,
            scope=scope,
            today=today,
        )
