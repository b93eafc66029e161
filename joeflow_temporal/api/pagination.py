"""Page-number pagination set on the list views, so project settings cannot turn it off."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """DRF's, but a wrong ``page_size`` is a 400 rather than silently the default size."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    last_page_strings = ()  # the document says `page` is a number; "last" would be a 404

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            raise ValidationError({self.page_size_query_param: ["A positive whole number."]})
        return min(int(value), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page (default {self.page_size}; more than "
                    f"{self.max_page_size} gives {self.max_page_size})."
                )
            else:
                parameter["description"] += " Past the last page: 404."
        return parameters
