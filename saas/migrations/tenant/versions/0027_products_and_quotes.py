"""Products and quotes: a product catalogue with prices per currency in price books, numbered quotes on
deals (with versions, lines, totals and the customer's answer), the quote counter, the quote settings, and
whether a deal's amount follows its accepted quote.

Revision ID: t0027
Revises: t0029
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "t0027"
down_revision = "t0029"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def upgrade() -> None:
    op.add_column(
        "deals", sa.Column("amount_follows_quote", sa.Boolean(), server_default="true", nullable=False)
    )
    op.create_table(
        "price_books",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_books")),
        sa.UniqueConstraint("name", name=op.f("uq_price_books_name")),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("unit", sa.String(length=30), nullable=True),
        sa.Column("tax_rate", sa.Numeric(6, 3), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "sort_name", sa.String(length=200), sa.Computed("lower(name)", persisted=True), nullable=False
        ),
        *_timestamps(),
        sa.CheckConstraint("tax_rate >= 0 AND tax_rate <= 100", name=op.f("ck_products_tax_rate_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("sku", name=op.f("uq_products_sku")),
    )
    op.create_index("ix_products_sort_name_id", "products", ["sort_name", "id"])
    op.create_table(
        "product_prices",
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("price_book_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("unit_price", sa.Numeric(16, 4), nullable=False),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_product_prices_unit_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_prices_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["price_book_id"],
            ["price_books.id"],
            name=op.f("fk_product_prices_price_book_id_price_books"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "price_book_id", "currency", name=op.f("pk_product_prices")),
    )
    op.create_index("ix_product_prices_price_book_id", "product_prices", ["price_book_id"])
    op.create_table(
        "quote_counters",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_quote_counters_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_counters")),
    )
    op.create_table(
        "quote_settings",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("acceptance_wins_deal", sa.Boolean(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_quote_settings_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_settings")),
    )
    op.create_table(
        "quotes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("price_book_id", sa.Uuid(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("discount_percent", sa.Numeric(5, 2), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("terms", sa.Text(), nullable=True),
        sa.Column("subtotal", sa.Numeric(14, 2), nullable=False),
        sa.Column("discount_amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("tax_amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("total", sa.Numeric(14, 2), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responder_name", sa.String(length=200), nullable=True),
        sa.Column("responder_ip", sa.String(length=64), nullable=True),
        sa.Column("decline_reason", sa.String(length=500), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('draft', 'sent', 'accepted', 'declined', 'superseded')", name=op.f("ck_quotes_status")
        ),
        sa.CheckConstraint(
            "discount_percent >= 0 AND discount_percent <= 100", name=op.f("ck_quotes_discount_range")
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_quotes_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_quotes_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["price_book_id"],
            ["price_books.id"],
            name=op.f("fk_quotes_price_book_id_price_books"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint("number", "version", name=op.f("uq_quotes_number_version")),
    )
    op.create_index("ix_quotes_deal_id", "quotes", ["deal_id"])
    op.create_index("ix_quotes_contact_id", "quotes", ["contact_id"])
    op.create_table(
        "quote_lines",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("quote_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("unit", sa.String(length=30), nullable=True),
        sa.Column("quantity", sa.Numeric(14, 3), nullable=False),
        sa.Column("unit_price", sa.Numeric(16, 4), nullable=False),
        sa.Column("discount_percent", sa.Numeric(5, 2), nullable=False),
        sa.Column("tax_rate", sa.Numeric(6, 3), nullable=False),
        sa.Column("net_amount", sa.Numeric(14, 2), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_quote_lines_quantity_positive")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_quote_lines_unit_price_not_negative")),
        sa.CheckConstraint(
            "discount_percent >= 0 AND discount_percent <= 100", name=op.f("ck_quote_lines_discount_range")
        ),
        sa.CheckConstraint("tax_rate >= 0 AND tax_rate <= 100", name=op.f("ck_quote_lines_tax_rate_range")),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_quote_lines_quote_id_quotes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_quote_lines_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_lines")),
    )
    op.create_index("ix_quote_lines_quote_id", "quote_lines", ["quote_id"])
    # Every workspace has its default price book, as new ones get it from the seed.
    op.execute("INSERT INTO price_books (id, name, is_default) VALUES (gen_random_uuid(), 'Standard', true)")


def downgrade() -> None:
    op.drop_table("quote_lines")
    op.drop_table("quotes")
    op.drop_table("quote_settings")
    op.drop_table("quote_counters")
    op.drop_table("product_prices")
    op.drop_table("products")
    op.drop_table("price_books")
    op.drop_column("deals", "amount_follows_quote")
