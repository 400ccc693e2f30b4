"""Product catalogue pages under /t/<slug>/products: the list (search, active or archived), a new
product, a product's page (edit, prices per price book and currency, archive), the CSV import, and the
price books (owners and admins add them)."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from saas.errors import ValidationError
from saas.modules.core.views.records import load_form
from saas.modules.settings import ADMIN_ROLES
from saas.modules.sfa import products
from saas.modules.sfa.blueprints import pages
from saas.modules.sfa.product_import import import_products
from saas.modules.sfa.quote_schemas import PriceBookIn, PriceIn, ProductIn
from saas.tenants.routing import current_tenant_session, require_role

PRODUCT_FIELDS = ("sku", "name", "description", "unit", "tax_rate")


def _form(*names: str) -> dict[str, str]:
    return {name: request.form[name] for name in names if name in request.form}


def _list_page(**context):
    session = current_tenant_session()
    show = request.args.get("show", "active")
    active = {"active": True, "archived": False}.get(show)
    page = products.products.list(
        session, q=request.args.get("q") or None, cursor=request.args.get("cursor"), active=active
    )
    return render_template(
        "sfa/product_list.html",
        page=page,
        show=show,
        q=request.args.get("q", ""),
        books=products.list_price_books(session),
        errors=context.pop("errors", {}),
        values=context.pop("values", {}),
        **context,
    )


@pages.route("/products", methods=["GET", "POST"])
def list_products():
    if request.method == "GET":
        return _list_page()
    session = current_tenant_session()
    values = _form(*PRODUCT_FIELDS, "currency", "price")
    try:
        data = load_form(ProductIn(), _form(*PRODUCT_FIELDS), gettext("Please correct the product."))
        if values.get("price", "").strip():
            price = load_form(
                PriceIn(),
                {"currency": values.get("currency", ""), "unit_price": values["price"]},
                gettext("Please correct the price."),
            )
            data["prices"] = [price]
        product = products.products.create(session, data)
    except ValidationError as error:
        return _list_page(message=error.detail, errors=error.errors, values=values), 422
    flash(gettext("Product %(name)s created.", name=product.name))
    return redirect(url_for("sfa.show_product", product_id=product.id), 303)


def _detail_page(product_id: uuid.UUID, **context):
    session = current_tenant_session()
    product = products.products.get(session, product_id)
    return render_template(
        "sfa/product_detail.html",
        product=product,
        books={book.id: book for book in products.list_price_books(session)},
        errors=context.pop("errors", {}),
        **context,
    )


@pages.route("/products/<uuid:product_id>", methods=["GET", "POST"])
def show_product(product_id: uuid.UUID):
    if request.method == "GET":
        return _detail_page(product_id)
    try:
        data = load_form(
            ProductIn(partial=True), _form(*PRODUCT_FIELDS), gettext("Please correct the product.")
        )
        products.products.update(current_tenant_session(), product_id, data)
    except ValidationError as error:
        return _detail_page(product_id, message=error.detail, errors=error.errors), 422
    flash(gettext("Product saved."))
    return redirect(url_for("sfa.show_product", product_id=product_id), 303)


@pages.route("/products/<uuid:product_id>/prices", methods=["POST"])
def set_product_price(product_id: uuid.UUID):
    session = current_tenant_session()
    product = products.products.get(session, product_id)
    try:
        price = load_form(
            PriceIn(),
            {**_form("currency", "price_book_id"), "unit_price": request.form.get("price", "")},
            gettext("Please correct the price."),
        )
        products.set_prices(session, product, [price])
    except ValidationError as error:
        return _detail_page(product_id, message=error.detail, errors=error.errors), 422
    flash(gettext("Price saved."))
    return redirect(url_for("sfa.show_product", product_id=product_id), 303)


@pages.route("/products/<uuid:product_id>/archive", methods=["POST"])
def archive_product(product_id: uuid.UUID):
    active = request.form.get("active") == "1"
    product = products.products.archive(current_tenant_session(), product_id, active=active)
    flash(
        gettext("%(name)s is active again.", name=product.name)
        if active
        else gettext("%(name)s archived.", name=product.name)
    )
    return redirect(url_for("sfa.show_product", product_id=product_id), 303)


@pages.route("/products/import", methods=["GET", "POST"])
def import_product_file():
    if request.method == "GET":
        return render_template("sfa/product_import.html", result=None, errors={})
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationError(gettext("Choose a CSV file."), {"file": [gettext("Choose a CSV file.")]})
        result = import_products(current_tenant_session(), upload.read())
    except ValidationError as error:
        return render_template(
            "sfa/product_import.html", result=None, errors=error.errors, message=error.detail
        ), 422
    return render_template("sfa/product_import.html", result=result, errors={})


@pages.route("/products/price-books", methods=["POST"])
def create_price_book():
    require_role(*ADMIN_ROLES)
    try:
        data = load_form(
            PriceBookIn(), {**_form("name"), "is_default": bool(request.form.get("is_default"))},
            gettext("Please name the price book."),
        )  # fmt: skip
        book = products.create_price_book(current_tenant_session(), data)
    except ValidationError as error:
        return _list_page(message=error.detail, errors={"book_" + k: v for k, v in error.errors.items()}), 422
    flash(gettext("Price book %(name)s created.", name=book.name))
    return redirect(url_for("sfa.list_products"), 303)
