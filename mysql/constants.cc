#include <cstdio>

#include <mysql/constants.h>

namespace mysql {

std::string_view to_string(Command c) {
    switch (c) {
    case Command::Sleep:
        return "COM_SLEEP";
    case Command::Quit:
        return "COM_QUIT";
    case Command::InitDb:
        return "COM_INIT_DB";
    case Command::Query:
        return "COM_QUERY";
    case Command::FieldList:
        return "COM_FIELD_LIST";
    case Command::CreateDb:
        return "COM_CREATE_DB";
    case Command::DropDb:
        return "COM_DROP_DB";
    case Command::Refresh:
        return "COM_REFRESH";
    case Command::Shutdown:
        return "COM_SHUTDOWN";
    case Command::Statistics:
        return "COM_STATISTICS";
    case Command::ProcessInfo:
        return "COM_PROCESS_INFO";
    case Command::Connect:
        return "COM_CONNECT";
    case Command::ProcessKill:
        return "COM_PROCESS_KILL";
    case Command::Debug:
        return "COM_DEBUG";
    case Command::Ping:
        return "COM_PING";
    case Command::Time:
        return "COM_TIME";
    case Command::DelayedInsert:
        return "COM_DELAYED_INSERT";
    case Command::ChangeUser:
        return "COM_CHANGE_USER";
    case Command::BinlogDump:
        return "COM_BINLOG_DUMP";
    case Command::TableDump:
        return "COM_TABLE_DUMP";
    case Command::ConnectOut:
        return "COM_CONNECT_OUT";
    case Command::RegisterSlave:
        return "COM_REGISTER_SLAVE";
    case Command::StmtPrepare:
        return "COM_STMT_PREPARE";
    case Command::StmtExecute:
        return "COM_STMT_EXECUTE";
    case Command::StmtSendLongData:
        return "COM_STMT_SEND_LONG_DATA";
    case Command::StmtClose:
        return "COM_STMT_CLOSE";
    case Command::StmtReset:
        return "COM_STMT_RESET";
    case Command::SetOption:
        return "COM_SET_OPTION";
    case Command::StmtFetch:
        return "COM_STMT_FETCH";
    case Command::Daemon:
        return "COM_DAEMON";
    case Command::BinlogDumpGtid:
        return "COM_BINLOG_DUMP_GTID";
    case Command::ResetConnection:
        return "COM_RESET_CONNECTION";
    case Command::Clone:
        return "COM_CLONE";
    }
    return "COM_UNKNOWN";
}

std::string command_name(std::uint8_t first_byte) {
    if (first_byte <= static_cast<std::uint8_t>(Command::Clone)) {
        return std::string(to_string(static_cast<Command>(first_byte)));
    }
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "COM_0x%02X", first_byte);
    return buffer;
}

std::string_view to_string(ColumnType t) {
    switch (t) {
    case ColumnType::Decimal:
        return "MYSQL_TYPE_DECIMAL";
    case ColumnType::Tiny:
        return "MYSQL_TYPE_TINY";
    case ColumnType::Short:
        return "MYSQL_TYPE_SHORT";
    case ColumnType::Long:
        return "MYSQL_TYPE_LONG";
    case ColumnType::Float:
        return "MYSQL_TYPE_FLOAT";
    case ColumnType::Double:
        return "MYSQL_TYPE_DOUBLE";
    case ColumnType::Null:
        return "MYSQL_TYPE_NULL";
    case ColumnType::Timestamp:
        return "MYSQL_TYPE_TIMESTAMP";
    case ColumnType::LongLong:
        return "MYSQL_TYPE_LONGLONG";
    case ColumnType::Int24:
        return "MYSQL_TYPE_INT24";
    case ColumnType::Date:
        return "MYSQL_TYPE_DATE";
    case ColumnType::Time:
        return "MYSQL_TYPE_TIME";
    case ColumnType::DateTime:
        return "MYSQL_TYPE_DATETIME";
    case ColumnType::Year:
        return "MYSQL_TYPE_YEAR";
    case ColumnType::NewDate:
        return "MYSQL_TYPE_NEWDATE";
    case ColumnType::VarChar:
        return "MYSQL_TYPE_VARCHAR";
    case ColumnType::Bit:
        return "MYSQL_TYPE_BIT";
    case ColumnType::Timestamp2:
        return "MYSQL_TYPE_TIMESTAMP2";
    case ColumnType::DateTime2:
        return "MYSQL_TYPE_DATETIME2";
    case ColumnType::Time2:
        return "MYSQL_TYPE_TIME2";
    case ColumnType::TypedArray:
        return "MYSQL_TYPE_TYPED_ARRAY";
    case ColumnType::Vector:
        return "MYSQL_TYPE_VECTOR";
    case ColumnType::Json:
        return "MYSQL_TYPE_JSON";
    case ColumnType::NewDecimal:
        return "MYSQL_TYPE_NEWDECIMAL";
    case ColumnType::Enum:
        return "MYSQL_TYPE_ENUM";
    case ColumnType::Set:
        return "MYSQL_TYPE_SET";
    case ColumnType::TinyBlob:
        return "MYSQL_TYPE_TINY_BLOB";
    case ColumnType::MediumBlob:
        return "MYSQL_TYPE_MEDIUM_BLOB";
    case ColumnType::LongBlob:
        return "MYSQL_TYPE_LONG_BLOB";
    case ColumnType::Blob:
        return "MYSQL_TYPE_BLOB";
    case ColumnType::VarString:
        return "MYSQL_TYPE_VAR_STRING";
    case ColumnType::String:
        return "MYSQL_TYPE_STRING";
    case ColumnType::Geometry:
        return "MYSQL_TYPE_GEOMETRY";
    }
    return "MYSQL_TYPE_UNKNOWN";
}

bool is_column_type(std::uint8_t b) {
    return b <= static_cast<std::uint8_t>(ColumnType::TypedArray) ||
           b == static_cast<std::uint8_t>(ColumnType::Vector) ||
           b >= static_cast<std::uint8_t>(ColumnType::Json);
}

} // namespace mysql
