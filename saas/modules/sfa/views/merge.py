"""The merge screen of leads (core's merge pages with the lead's fields)."""

from saas.modules.core.views.merge import register_merge_pages
from saas.modules.sfa.blueprints import pages
from saas.modules.sfa.merge import LEAD_KIND
from saas.modules.sfa.views.leads import LEAD_PAGES

register_merge_pages(pages, LEAD_PAGES, LEAD_KIND)
