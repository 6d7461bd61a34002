"""oslo.i18n integration: ``_`` translates exception and help text."""

import oslo_i18n

_translators = oslo_i18n.TranslatorFactory(domain='vmetal_ironic')

_ = _translators.primary
